"""The monthly Excel report (月报): 总览, 信用评级, 预警处罚, 管控措施, 结算, 续约, 执行台账 — from the warehouse only.

Used by the ``monthly_report`` asset and by ``migu-assets report`` (no Dagster run needed); no Dagster imports here.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from migu_assets.compute.status import today
from migu_assets.gcpause import cycle_collection_paused
from migu_assets.policy import PolicyBook
from migu_assets.report.data import AsOf, MonthData, as_of_state, read_month
from migu_assets.report.sheets import OVERVIEW, OVERVIEW_COLUMNS, SHEET_NAMES, Sheet, build_sheets
from migu_assets.report.xlsx import write_workbook
from migu_assets.settings import migu_home, usable_cores
from migu_assets.warehouse.engine import engine_for

__all__ = [
    "SHEET_NAMES",
    "AsOf",
    "MonthData",
    "NothingComputed",
    "as_of_state",
    "ReportResult",
    "build_report",
    "build_reports",
    "default_report_path",
    "overview_markdown",
    "read_month",
    "report_filename",
    "reports_dir",
]


class NothingComputed(LookupError):
    """No output table has a row for the month (it was never computed)."""


@dataclass(frozen=True)
class ReportResult:
    month: dt.date
    path: Path
    sheet_rows: dict[str, int]  # sheet → data rows (without header and 合计 row)
    overview_markdown: str
    empty: bool  # no computed rows at all for the month


def reports_dir() -> Path:
    """``MIGU_REPORTS_DIR`` if set (e.g. a mounted persistent volume), else ``$MIGU_HOME/reports``."""
    configured = os.environ.get("MIGU_REPORTS_DIR")
    return Path(configured).expanduser().resolve() if configured else migu_home() / "reports"


def report_filename(month: dt.date) -> str:
    return f"migu-report-{month:%Y-%m}.xlsx"


def default_report_path(month: dt.date) -> Path:
    return reports_dir() / report_filename(month)


def overview_markdown(sheet: Sheet) -> str:
    """The 总览 sheet as a markdown table (the asset's preview)."""
    head = "| " + " | ".join(c.header for c in OVERVIEW_COLUMNS) + " |\n|---|---|---:|---:|\n"
    lines = []
    for row in sheet.rows:
        amount = "" if row["amount"] is None else f"{row['amount']:,.2f}"
        item = str(row["item"]).replace("|", "\\|")
        lines.append(f"| {row['category']} | {item} | {row['count']} | {amount} |")
    return head + "\n".join(lines)


def build_report(
    engine: sa.Engine,
    month: dt.date,
    path: Path | None = None,
    progress: Callable[[str], None] | None = None,
    require_rows: bool = False,
    book: PolicyBook | None = None,
    as_of: dt.date | None = None,
    notice: str | None = None,
    state: AsOf | None = None,
) -> ReportResult:
    """Read ``month`` (its first day) from the warehouse and write the workbook (default under $MIGU_HOME/reports).

    With ``require_rows``, a month without any computed row raises :class:`NothingComputed` and writes nothing.
    ``as_of`` (default today) is the day the 执行台账 sheet and the grade in force describe (SPEC v2 §5, §5a).
    ``notice`` (e.g. the month is incomplete, :mod:`migu_assets.completeness`) is shown on the 总览 sheet.
    ``state``: the results and measure ledger as of the report day, read once by a caller building many months.
    """
    say = progress or (lambda _line: None)
    month = month.replace(day=1)
    say(f"从数据仓库读取 {month:%Y-%m} …")
    with cycle_collection_paused():  # rows and cell records hold no cycles (gcpause.py)
        with engine.connect() as conn:
            data = read_month(conn, month, as_of, book, state)
        if require_rows and data.is_empty:
            raise NothingComputed(f"nothing computed for {month:%Y-%m}")
        sheets = build_sheets(data)
        counts = {s.title: len(s.rows) for s in sheets if s.title != OVERVIEW}
        for title, n in counts.items():
            say(f"  {title}：{n} 行")
        target = Path(path) if path is not None else default_report_path(month)
        say(f"写入 {target} …")
        write_workbook(sheets, target, title=f"咪咕音乐新型联合会员月报 {month:%Y-%m}", month_label=f"{month:%Y-%m}",
                       notice=notice)
    return ReportResult(month, target, counts, overview_markdown(sheets[0]), data.is_empty)


# ---------------------------------------------------------------- many months (a backfill's run)
PARALLEL_FROM = 3  # months; below this, starting worker processes costs more than it saves
MAX_WORKERS = 4  # each worker holds the as-of ledger and a workbook (~200 MiB at full size): bounded memory
_worker: dict = {}


def _read_state(engine: sa.Engine, book: PolicyBook, as_of: dt.date, through: dt.date) -> AsOf:
    with engine.connect() as conn:  # the ledger as of the day is the same for every month: read it once
        return as_of_state(conn, book, as_of, through)


def _init_worker(url: str, book: PolicyBook, as_of: dt.date, through: dt.date) -> None:
    engine = engine_for(url)
    _worker.update(engine=engine, book=book, state=_read_state(engine, book, as_of, through))
    gc.freeze()  # the state lives as long as the worker: no collection needs to walk it again


def _build_in_worker(month: dt.date, path: Path | None) -> ReportResult:
    return build_report(_worker["engine"], month, path, book=_worker["book"], state=_worker["state"])


def build_reports(
    url: str,
    months: Sequence[dt.date],
    paths: Sequence[Path | None],
    book: PolicyBook,
    as_of: dt.date | None = None,
    workers: int | None = None,
) -> list[ReportResult]:
    """The workbooks of ``months`` (``paths[i]`` for ``months[i]``; None = the default path) as of ``as_of``
    (default today), in month order.

    Writing a workbook is CPU-bound Python (XlsxWriter), ~2–5 s for a full-size month, so a run of many months (a
    year's backfill) builds them in worker processes, one per usable core up to :data:`MAX_WORKERS` (``workers``).
    Each worker reads the as-of state (all credit results and the measure ledger through the last month) once and
    then its months from the warehouse at ``url``, as it reads each month's rows: handing it a state read here
    meant pickling 32 MB per worker, 6.2 s before the first workbook at full size, where one read takes ~2 s
    (BENCHMARKS.md, issue 14, fifth pass). Below :data:`PARALLEL_FROM` months, or with one
    core, they are built here, one after another, on one state.
    """
    as_of = as_of or today()
    workers = min(len(months), workers or min(MAX_WORKERS, usable_cores()))
    if len(months) >= PARALLEL_FROM and workers >= 2:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding threads and connections
        try:
            with ProcessPoolExecutor(
                workers, mp_context=context, initializer=_init_worker, initargs=(url, book, as_of, months[-1])
            ) as pool:
                # the latest months first: their 执行台账 sheets carry every earlier month's open measures, so they
                # take longest, and the shortest come last, when the other worker is about to finish too
                latest_first = sorted(range(len(months)), key=lambda i: months[i], reverse=True)
                futures = {i: pool.submit(_build_in_worker, months[i], paths[i]) for i in latest_first}
                return [futures[i].result() for i in range(len(months))]
        except (BrokenProcessPool, RuntimeError) as exc:  # e.g. a caller script without a __main__ guard
            logging.getLogger(__name__).warning("report workers unavailable (%s): building one after another", exc)
    engine = engine_for(url)
    state = _read_state(engine, book, as_of, months[-1])
    return [build_report(engine, m, p, book=book, state=state) for m, p in zip(months, paths, strict=True)]
