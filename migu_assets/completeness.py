"""Which months are incomplete: the newest Dagster run that recomputed the month did not succeed.

Each asset replaces its own month atomically, so a run that dies half-way leaves every table wholly old or wholly
new — but the tables may disagree (health new, credit old). Until a later run completes the month, ``report``,
``explain`` and ``partner_status`` say so (one line each, via :func:`incomplete_months` / :func:`notice`).

Runs are read from the Dagster instance: the monthly job's runs, single-month runs (schedule, sensor, UI) and
single-run backfills over a range. Runs that only touched the daily counts, runs that only wrote documents (the
workbook's ``report_job``, the letters' ``notices_job``: they change no table the chain computes), and runs that
never started (queued, NOT_STARTED, or marked failed before they started — no write), do not decide anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from migu_assets.jobs import DOCUMENT_JOBS, DOCUMENTS
from migu_assets.rules.periods import months_between

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DAILY_JOBS = {"daily_job"}
DAILY_ASSETS = {dg.AssetKey("daily_complaint_counts")}
UNDECIDED = {dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED}
STATUS_NAMES = {
    dg.DagsterRunStatus.FAILURE: "失败",
    dg.DagsterRunStatus.CANCELED: "已取消",
    dg.DagsterRunStatus.CANCELING: "正在取消",
    dg.DagsterRunStatus.STARTED: "未结束（进行中或已中断）",
    dg.DagsterRunStatus.STARTING: "未结束（进行中或已中断）",
}


@dataclass(frozen=True)
class IncompleteMonth:
    month: dt.date
    run_id: str
    status: dg.DagsterRunStatus

    @property
    def text(self) -> str:
        return (
            f"⚠ {self.month:%Y-%m} 的月度计算没有完成（Dagster 运行 {self.run_id[:8]} "
            f"{STATUS_NAMES.get(self.status, self.status.value)}），各表可能新旧混杂；"
            f"请重新运行 `migu-assets run --from {self.month:%Y-%m} --to {self.month:%Y-%m}`。"
        )


def _day(key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(key[:10])
    except ValueError:
        return None


def _months_of(run: dg.DagsterRun) -> list[dt.date]:
    if run.job_name in DAILY_JOBS or run.job_name in DOCUMENT_JOBS:
        return []
    if run.asset_selection and (set(run.asset_selection) <= DAILY_ASSETS or set(run.asset_selection) <= DOCUMENTS):
        return []
    tags = run.tags
    if PARTITION_TAG in tags:
        day = _day(tags[PARTITION_TAG])
        return [day.replace(day=1)] if day else []
    start, end = _day(tags.get(RANGE_START_TAG, "")), _day(tags.get(RANGE_END_TAG, ""))
    if start and end and start <= end:
        return months_between(start, end)
    return []


def incomplete_months(
    instance: dg.DagsterInstance,
    months: Iterable[dt.date] | None = None,
    exclude_run_id: str | None = None,
    limit: int = 1000,
) -> dict[dt.date, IncompleteMonth]:
    """month → why it is incomplete, for the months (first days) whose newest deciding run did not succeed."""
    wanted = {m.replace(day=1) for m in months} if months is not None else None
    decided: set[dt.date] = set()
    out: dict[dt.date, IncompleteMonth] = {}
    for record in instance.get_run_records(limit=limit):  # newest first
        run = record.dagster_run
        if run.run_id == exclude_run_id or run.status in UNDECIDED or record.start_time is None:
            continue  # never started (queued, or killed/failed before its first step): it wrote nothing
        for month in _months_of(run):
            if month in decided or (wanted is not None and month not in wanted):
                continue
            decided.add(month)
            if run.status != dg.DagsterRunStatus.SUCCESS:
                out[month] = IncompleteMonth(month, run.run_id, run.status)
        if wanted is not None and wanted <= decided:
            break
    return out


def notice(instance: dg.DagsterInstance | None, month: dt.date) -> str | None:
    """The one-line warning for ``month`` if it is incomplete (None otherwise, or without an instance)."""
    if instance is None:
        return None
    found = incomplete_months(instance, [month]).get(month.replace(day=1))
    return found.text if found else None


def mark_rows(rows: list[dict], incomplete: dict[dt.date, IncompleteMonth], month_key: str = "latest_month") -> int:
    """Prefix the ``reason`` of rows whose month is incomplete with the warning; returns how many."""
    n = 0
    for row in rows:
        month = row.get(month_key)
        if month is not None and month.replace(day=1) in incomplete:
            row["reason"] = f"{incomplete[month.replace(day=1)].text} {row['reason']}"
            n += 1
    return n
