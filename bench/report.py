"""The monthly report at full size (issue 14): one month's workbook, and a year's twelve one after another or in
worker processes, on a warehouse kept by ``bench.run --keep``.

    python -m bench.report --url postgresql+psycopg2://postgres@127.0.0.1:5432/migu_bench

Prints and appends to ``bench/out/report.jsonl``: the seconds to read the as-of state (credit results and measure
ledger), to build 2024-06 alone, and to build 2024-01…12 with 1 and with ``--workers`` processes. For 2024-06 it also
times the writing alone against its **bare operation**: XlsxWriter writing the same cells (every value of every
sheet, dates with one date format, numbers as floats, empty cells skipped) with no formats, widths, totals, charts
or conditional formats — what any workbook of these cells costs in this library.
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bench.common import OUT


def bare_workbook(sheets, path: Path) -> None:
    """The same cells as ``write_workbook`` writes, with nothing else (see the module doc)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.title)
        for j, column in enumerate(sheet.columns):
            ws.write_string(0, j, column.header)
        keys = [c.key for c in sheet.columns]
        for i, row in enumerate(sheet.rows, start=1):
            for j, key in enumerate(keys):
                value = row.get(key)
                if value is None:
                    continue
                if isinstance(value, dt.date):
                    ws.write_datetime(i, j, value, date)
                elif isinstance(value, bool):
                    ws.write_string(i, j, "是" if value else "否")
                elif isinstance(value, int | float | Decimal):
                    ws.write_number(i, j, float(value))
                else:
                    ws.write_string(i, j, str(value))
    wb.close()


def writing_against_bare(engine, book, state, month: dt.date, tmp: Path, repeats: int = 3) -> dict:
    """Median seconds of ``write_workbook`` and of :func:`bare_workbook` for the same sheets, alternating."""
    from migu_assets.report.data import read_month
    from migu_assets.report.sheets import build_sheets
    from migu_assets.report.xlsx import write_workbook

    with engine.connect() as conn:
        sheets = build_sheets(read_month(conn, month, book=book, state=state))
    cells = sum(len(s.rows) * len(s.columns) for s in sheets)
    ours, bare = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        write_workbook(sheets, tmp / "ours.xlsx", title="bench", month_label=f"{month:%Y-%m}")
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        bare_workbook(sheets, tmp / "bare.xlsx")
        bare.append(time.perf_counter() - t)
    return {"cells": cells, "write_seconds": round(statistics.median(ours), 2),
            "bare_write_seconds": round(statistics.median(bare), 2),
            "write_over_bare": round(statistics.median(ours) / statistics.median(bare), 2)}


def main() -> None:
    from migu_assets import report
    from migu_assets.policy import load_policy_book

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--as-of", default="2025-01-31")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    book, as_of = load_policy_book(), dt.date.fromisoformat(args.as_of)
    months = [dt.date(2024, m, 1) for m in range(1, 13)]
    out: dict = {"url": sa.make_url(args.url).render_as_string(hide_password=True)}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        engine = sa.create_engine(args.url)
        t = time.perf_counter()
        with engine.connect() as conn:
            state = report.as_of_state(conn, book, as_of)
        out["state_seconds"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        one = report.build_report(engine, dt.date(2024, 6, 1), Path(tmp) / "one.xlsx", book=book, state=state)
        out["one_month_seconds"], out["one_month_rows"] = round(time.perf_counter() - t, 2), one.sheet_rows
        out["one_month_writing"] = writing_against_bare(engine, book, state, dt.date(2024, 6, 1), Path(tmp))
        for workers in (1, args.workers):
            paths = [Path(tmp) / f"{workers}-{m:%m}.xlsx" for m in months]
            t = time.perf_counter()
            report.build_reports(args.url, months, paths, book, as_of, workers=workers)
            out[f"year_seconds_{workers}_workers"] = round(time.perf_counter() - t, 2)
    with (OUT / "report.jsonl").open("a") as f:
        f.write(json.dumps(out) + "\n")
    json.dump(out, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
