"""Materialise months through Dagster (``migu-assets run``): one daily run and one monthly run for a range.

Runs go through the Dagster instance in ``DAGSTER_HOME`` so they appear in the UI. Each job is executed once
over the whole partition range (single-run backfill policy), so a year costs two runs, not 365. A third run then
refreshes the as-of-a-day assets, ``partner_status`` and ``measure_ledger`` (SPEC v2 §5a), as of today.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from migu_assets.rules.periods import month_end, month_start
from migu_assets.settings import migu_home

DATE_FMT = "%Y-%m-%d"


def ensure_dagster_home() -> Path:
    """``DAGSTER_HOME`` if set, else ``$MIGU_HOME/dagster_home`` (created, and exported for this process)."""
    home = Path(os.environ.get("DAGSTER_HOME") or (migu_home() / "dagster_home")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    yaml_file = home / "dagster.yaml"
    if not yaml_file.exists():
        yaml_file.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass
class StepReport:
    job: str
    partitions: str
    run_id: str
    seconds: float
    materialized: dict[str, int] = field(default_factory=dict)  # asset → row count
    checks_failed: list[str] = field(default_factory=list)


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def _execute(
    job: dg.JobDefinition, instance, first: str, last: str, asset_selection=None, ops_config: dict | None = None
) -> StepReport:
    start = time.monotonic()
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if ops_config:
        run_config["ops"] = ops_config
    result = job.execute_in_process(
        instance=instance,
        tags=_range_tags(first, last) if first else None,
        raise_on_error=True,
        asset_selection=asset_selection,
        run_config=run_config,
    )
    window = f"{first}..{last}" if first else "as of a day"
    report = StepReport(job.name, window, result.run_id, time.monotonic() - start)
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        rc = mat.metadata.get("dagster/row_count")
        report.materialized[mat.asset_key.to_user_string()] = int(rc.value) if rc is not None else 0
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                report.checks_failed.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
    return report


def run_months(
    first_month: dt.date,
    last_month: dt.date,
    defs: dg.Definitions | None = None,
    instance: dg.DagsterInstance | None = None,
    progress: Callable[[str], None] = print,
    today: dt.date | None = None,
) -> list[StepReport]:
    """Materialise the daily counts for every day of the months, then the monthly chain, in one run each."""
    if defs is None:
        from migu_assets.definitions import build_definitions

        defs = build_definitions()  # resources from the environment now (MIGU_WAREHOUSE_URL / MIGU_HOME)
    if instance is None:
        ensure_dagster_home()
        instance = dg.DagsterInstance.get()
    first_month, last_month = month_start(first_month), month_start(last_month)
    if last_month < first_month:
        raise ValueError(f"--to {last_month:%Y-%m} is before --from {first_month:%Y-%m}")
    as_of = today  # None → the as-of assets use today in Asia/Shanghai
    today = today or dt.date.today()
    if month_end(last_month) >= today:
        raise ValueError(
            f"{last_month:%Y-%m} is not complete yet: the last monthly partition is the last complete month"
        )
    reports = []
    daily_job = defs.resolve_job_def("daily_job")
    monthly_job = defs.resolve_job_def("monthly_job")
    first_day, last_day = first_month.strftime(DATE_FMT), month_end(last_month).strftime(DATE_FMT)
    progress(f"▶ daily_job: complaint counts for {first_day} .. {last_day} (one run)")
    reports.append(_execute(daily_job, instance, first_day, last_day))
    _print_report(reports[-1], progress)
    progress(
        f"▶ monthly_job: the monthly chain for {first_month:%Y-%m} .. {last_month:%Y-%m} (one run, months in order)"
    )
    reports.append(_execute(monthly_job, instance, first_month.strftime(DATE_FMT), last_month.strftime(DATE_FMT)))
    _print_report(reports[-1], progress)
    status_job = _status_job(defs)
    if status_job is not None:  # SPEC v2 §5a: the ledger (and the status page) as of today, after the chain
        day = as_of.isoformat() if as_of else "today"
        progress(f"▶ {status_job.name}: partner_status and measure_ledger as of {day} (one run)")
        ops = None
        if as_of is not None:
            config = {"config": {"as_of": as_of.isoformat()}}
            ops = {node.name: config for node in status_job.graph.node_defs}
        reports.append(_execute(status_job, instance, "", "", ops_config=ops))
        reports[-1].partitions = f"as of {day}"
        _print_report(reports[-1], progress)
    return reports


def _status_job(defs: dg.Definitions) -> dg.JobDefinition | None:
    try:
        return defs.resolve_job_def("status_job")
    except Exception:  # a code location without the as-of-today assets
        return None


def _print_report(report: StepReport, progress: Callable[[str], None]) -> None:
    for asset, rows in report.materialized.items():
        progress(f"  ✓ {asset}: {rows} rows")
    for check in report.checks_failed:
        progress(f"  ✗ asset check failed: {check}")
    progress(f"  run {report.run_id} finished in {report.seconds:.1f} s")
