"""Materialise months through Dagster (``migu-assets run``): one daily run, one monthly run and one workbook run for
a range.

Runs go through the Dagster instance in ``DAGSTER_HOME`` so they appear in the UI. Each job is executed once
over the whole partition range (single-run backfill policy), so a year costs three runs, not 365. A fourth run then
refreshes the as-of-a-day assets, ``partner_status`` and ``measure_ledger`` (SPEC v2 §5a), as of today. The
workbooks have their own run, last (``jobs.DOCUMENTS``), as the daemon's ``report_after_monthly_runs`` requests it
(run-status sensors do not see runs executed in process, so the command runs it itself); the letters are not
written here (``migu-assets notices``, or the daemon's ``notices_after_monthly_runs`` after its own runs).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from migu_assets.rules.periods import month_end, month_start
from migu_assets.settings import migu_home

DATE_FMT = "%Y-%m-%d"


# Tags on the runs ``migu-assets run`` executes in its own process, so a later invocation can tell that a run
# left STARTED belongs to a process that no longer exists (kill -9, a closed laptop) and mark it failed.
LAUNCHER_TAG = "migu/launched_by"
HOST_TAG = "migu/host"
PID_TAG = "migu/pid"
LAUNCHER = "migu-assets run"
UNFINISHED = (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


class RunFailed(Exception):
    """A Dagster run failed; ``message``/``hint`` are for the operator (Chinese)."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


def dagster_home() -> Path:
    """Where the Dagster home is (``DAGSTER_HOME`` or ``$MIGU_HOME/dagster_home``), without creating it."""
    return Path(os.environ.get("DAGSTER_HOME") or (migu_home() / "dagster_home")).resolve()


def ensure_dagster_home() -> Path:
    """``DAGSTER_HOME`` if set, else ``$MIGU_HOME/dagster_home`` (created, and exported for this process)."""
    home = dagster_home()
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
    checks_failed: list[str] = field(default_factory=list)  # ERROR-severity checks that did not pass
    checks_warned: list[str] = field(default_factory=list)  # WARN-severity checks that did not pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process: alive
        return True
    return True


def _own_tags() -> dict[str, str]:
    return {LAUNCHER_TAG: LAUNCHER, HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def mark_dead_runs_failed(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs an earlier ``migu-assets run`` on this machine left unfinished when its process died.

    Only runs carrying this launcher's tags, this host's name and the id of a process that no longer exists are
    touched; runs of the daemon, the UI or another live invocation are left alone. Returns their run ids.
    """
    marked = []
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=list(UNFINISHED), tags={LAUNCHER_TAG: LAUNCHER, HOST_TAG: socket.gethostname()})
    )
    for run in runs:
        pid = run.tags.get(PID_TAG, "")
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            instance.report_run_failed(
                run,
                f"The process that executed this run (migu-assets run, pid {pid}) is gone; marked failed at the "
                f"next `migu-assets run`. Partitions it did not finish kept their previous rows.",
            )
            marked.append(run.run_id)
    return marked


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START_TAG: first, RANGE_END_TAG: last} if first else {}


def _failure(result) -> tuple[str, str]:
    """(step, first line of the error) of the run's first failed step."""
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error is not None and error.cause is not None and "dagster" in (error.cls_name or "").lower():
                error = error.cause
            text = (error.message if error is not None else "").strip().splitlines()
            return event.step_key or "?", (text[0] if text else "")
    return "?", ""


def _execute(
    job: dg.JobDefinition, instance, first: str, last: str, asset_selection=None, ops_config: dict | None = None
) -> StepReport:
    from migu_assets.settings import mask_secrets

    run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if ops_config:
        run_config["ops"] = ops_config
    start = time.monotonic()
    result = job.execute_in_process(
        instance=instance,
        tags={**_range_tags(first, last), **_own_tags()},
        raise_on_error=False,
        asset_selection=asset_selection,
        run_config=run_config,
    )
    if not result.success:
        step, error = _failure(result)
        raise RunFailed(
            f"Dagster 运行 {result.run_id} 失败（{job.name}，{first} 至 {last}），步骤 {step}：{mask_secrets(error)}",
            "未算完的月份保留了原来的数据；在 Dagster 界面的 Runs 页查看日志，修正后重新运行同一命令即可。",
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
                name = f"{data.asset_key.to_user_string()}:{data.check_name}"
                if data.severity == dg.AssetCheckSeverity.WARN:
                    report.checks_warned.append(name)
                else:
                    report.checks_failed.append(name)
    return report


def run_months(
    first_month: dt.date,
    last_month: dt.date,
    defs: dg.Definitions | None = None,
    instance: dg.DagsterInstance | None = None,
    progress: Callable[[str], None] = print,
    today: dt.date | None = None,
) -> list[StepReport]:
    """Materialise the daily counts for every day of the months, then the monthly chain, then the as-of-today
    assets, then the months' workbooks, in one run each."""
    if defs is None:
        from migu_assets.definitions import build_definitions

        defs = build_definitions()  # resources from the environment now (MIGU_WAREHOUSE_URL / MIGU_HOME)
    if instance is None:
        ensure_dagster_home()
        instance = dg.DagsterInstance.get()
    first_month, last_month = month_start(first_month), month_start(last_month)
    if last_month < first_month:
        raise ValueError(f"--to {last_month:%Y-%m} 早于 --from {first_month:%Y-%m}。")
    as_of = today  # None → the as-of assets use today in Asia/Shanghai
    today = today or dt.date.today()
    if month_end(last_month) >= today:
        raise ValueError(f"{last_month:%Y-%m} 还没有过完：只能计算已经结束的月份。")
    for run_id in mark_dead_runs_failed(instance):
        progress(f"  上次中断的运行 {run_id} 已标记为失败（其进程已不存在）")
    horizon_line = calendar_horizon_line(today)
    if horizon_line:
        progress(horizon_line)
    reports = []
    daily_job = defs.resolve_job_def("daily_job")
    monthly_job = defs.resolve_job_def("monthly_job")
    first_day, last_day = first_month.strftime(DATE_FMT), month_end(last_month).strftime(DATE_FMT)
    progress(f"▶ daily_job：{first_day} 至 {last_day} 每日投诉计数（一个运行）")
    reports.append(_execute(daily_job, instance, first_day, last_day))
    _print_report(reports[-1], progress)
    progress(f"▶ monthly_job：{first_month:%Y-%m} 至 {last_month:%Y-%m} 的月度计算（一个运行，按月份顺序）")
    reports.append(_execute(monthly_job, instance, first_month.strftime(DATE_FMT), last_month.strftime(DATE_FMT)))
    _print_report(reports[-1], progress)
    status_job = _optional_job(defs, "status_job")
    if status_job is not None:  # SPEC v2 §5a: the ledger (and the status page) as of today, after the chain
        day = as_of.isoformat() if as_of else "今天"
        progress(f"▶ {status_job.name}：合作方当前状态与处罚措施执行台账（截至{day}，一个运行）")
        ops = None
        if as_of is not None:
            config = {"config": {"as_of": as_of.isoformat()}}
            ops = {node.name: config for node in status_job.graph.node_defs}
        reports.append(_execute(status_job, instance, "", "", ops_config=ops))
        reports[-1].partitions = f"截至{day}"
        _print_report(reports[-1], progress)
    report_job = _optional_job(defs, "report_job")
    if report_job is not None:  # the workbooks follow the computation in their own run (jobs.py: DOCUMENTS)
        reports.append(_workbooks(report_job, instance, first_month, last_month, progress))
        _print_report(reports[-1], progress)
    return reports


def _workbooks(job: dg.JobDefinition, instance, first: dt.date, last: dt.date, progress) -> StepReport:
    """``report_job`` over the months, last: a workbook that cannot be written leaves the computed months and the
    status page as they are, and the message says to write the workbooks again, not to recompute."""
    progress(f"▶ {job.name}：{first:%Y-%m} 至 {last:%Y-%m} 的 Excel 月报（一个运行）")
    try:
        return _execute(job, instance, first.strftime(DATE_FMT), last.strftime(DATE_FMT))
    except RunFailed as failed:
        months = f"{first:%Y-%m}" if first == last else f"{first:%Y-%m} 至 {last:%Y-%m}"
        raise RunFailed(
            failed.message,
            f"{months} 已算完，合作方当前状态也已刷新；只是 Excel 月报没有写成。修正原因后运行 "
            f"`migu-assets report --month YYYY-MM`（每个月份一次），或在 Dagster 界面重新运行 {job.name}，无需重算。",
        ) from failed


def _optional_job(defs: dg.Definitions, name: str) -> dg.JobDefinition | None:
    try:
        return defs.resolve_job_def(name)
    except Exception:  # a code location without the as-of-today assets or the workbook
        return None


def calendar_horizon_line(today: dt.date) -> str | None:
    """A warning line when the working-day calendar does not yet cover the coming year (None when it does)."""
    from migu_assets.assets.calendar import horizon
    from migu_assets.policy import load_policy_book

    try:
        status = horizon(today, load_policy_book(os.environ.get("MIGU_POLICY_DIR") or None))
    except Exception:  # noqa: BLE001 - a policy problem surfaces in the run itself, with its own message
        return None
    return f"  ⚠ {status.message}" if status.missing_year is not None else None


def _print_report(report: StepReport, progress: Callable[[str], None]) -> None:
    for asset, rows in report.materialized.items():
        progress(f"  ✓ {asset}：{rows} 行")
    for check in report.checks_failed:
        progress(f"  ✗ 数据检查未通过（ERROR）：{check}")
    for check in report.checks_warned:
        progress(f"  ⚠ 数据检查提醒（WARN）：{check}")
    progress(f"  运行 {report.run_id} 用时 {report.seconds:.1f} 秒")
