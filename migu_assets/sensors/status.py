"""partner_status is refreshed after every successful monthly run.

``status_job`` materialises the unpartitioned ``partner_status`` and, when defined, ``measure_ledger`` (both as of
today; SPEC v2 §5a: the ledger is refreshed with the status page). ``partner_status_refresh_sensor``
watches the runs of this code location that end in success and requests ``status_job`` after each one that
computed monthly assets: a ``monthly_job`` run (schedule, a backfill), and also a run that
materialised monthly assets under another job — the major-violation sensor's recomputation, or a partition
materialised from the UI — since those change grades, settlements and renewals just as much. Daily runs and the
status job's own runs request nothing. The run key is the finished run's id, so each run refreshes once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dagster as dg

from migu_assets.jobs import DOCUMENTS, LETTERS, REPORT
from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG, monthly_partitions

PARTITION_TAG = "dagster/partition"

PARTNER_STATUS = dg.AssetKey("partner_status")
MEASURE_LEDGER = dg.AssetKey("measure_ledger")
STATUS_JOB = "status_job"
MONTHLY_JOB = "monthly_job"


def monthly_keys(assets: Sequence[dg.AssetsDefinition]) -> set[dg.AssetKey]:
    """The monthly computation's assets (the documents — workbook and letters — follow it, they are not part of it)."""
    return {key for a in assets if a.partitions_def == monthly_partitions for key in a.keys if key not in DOCUMENTS}


def computed_monthly_assets(run: dg.DagsterRun, monthly: set[dg.AssetKey], monthly_job_name: str) -> bool:
    """Whether a finished run computed monthly assets (and so the status page is out of date)."""
    if run.job_name == monthly_job_name:
        return True
    if run.job_name == STATUS_JOB or not run.asset_selection:
        return False
    return bool(set(run.asset_selection) & monthly)


def build_status_refresh(
    assets: Sequence[dg.AssetsDefinition], monthly_job_name: str = MONTHLY_JOB
) -> tuple[list, list[dg.RunStatusSensorDefinition]]:
    """``([status_job], [partner_status_refresh_sensor])`` for the code location's ``assets``."""
    if not any(PARTNER_STATUS in a.keys for a in assets):
        raise ValueError("build_status_refresh needs the partner_status asset among the assets")
    monthly = monthly_keys(assets)
    as_of_assets = [PARTNER_STATUS] + [MEASURE_LEDGER for a in assets if MEASURE_LEDGER in a.keys]
    status_job = dg.define_asset_job(
        STATUS_JOB,
        selection=dg.AssetSelection.assets(*as_of_assets),
        description="合作方当前状态与处罚措施执行台账刷新（每次月度链路成功运行后、每日）。",
    )

    sensor = after_monthly_runs(
        "partner_status_refresh_sensor",
        status_job,
        "月度链路（或违规重算）运行成功后刷新合作方当前状态 partner_status。",
        monthly,
        monthly_job_name,
        lambda run: dg.RunRequest(run_key=f"partner_status:{run.run_id}", tags={"migu/after_run": run.run_id}),
    )
    return [status_job], [sensor]


def letters_request(run: dg.DagsterRun) -> dg.RunRequest | None:
    """The ``notices_job`` request for the months a finished monthly computation covered (its partition or range)."""
    return same_months_request(run, "notices", LETTERS)


def report_request(run: dg.DagsterRun) -> dg.RunRequest | None:
    """The ``report_job`` request for the months a finished monthly computation covered (its partition or range)."""
    return same_months_request(run, "report", REPORT)


def same_months_request(run: dg.DagsterRun, prefix: str, document: dg.AssetKey) -> dg.RunRequest | None:
    """A request for the partition or range of ``run``, run key ``prefix:run id``; None when it names no month or
    already wrote ``document`` itself (a lineage-page materialisation of every monthly asset, say)."""
    if run.asset_selection and document in run.asset_selection:
        return None
    tags = run.tags
    key = f"{prefix}:{run.run_id}"
    if tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
        range_tags = {RANGE_START_TAG: tags[RANGE_START_TAG], RANGE_END_TAG: tags[RANGE_END_TAG]}
        return dg.RunRequest(run_key=key, tags={**range_tags, "migu/after_run": run.run_id})
    if tags.get(PARTITION_TAG):
        return dg.RunRequest(run_key=key, partition_key=tags[PARTITION_TAG], tags={"migu/after_run": run.run_id})
    return None


def after_monthly_runs(
    name: str,
    job,
    description: str,
    monthly: set[dg.AssetKey],
    monthly_job_name: str,
    request: Callable[[dg.DagsterRun], dg.RunRequest | None],
) -> dg.RunStatusSensorDefinition:
    """A run-status sensor requesting ``job`` (``request(run)``) after each successful run that computed monthly
    assets — a ``monthly_job`` run or a recomputation under another job; other runs request nothing."""

    @dg.run_status_sensor(
        name=name,
        run_status=dg.DagsterRunStatus.SUCCESS,
        request_job=job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _sensor(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        if not computed_monthly_assets(run, monthly, monthly_job_name):
            return dg.SkipReason(f"run {run.run_id} ({run.job_name}) computed no monthly asset")
        return request(run) or dg.SkipReason(f"run {run.run_id} names no month or wrote the document itself")

    return _sensor


def build_letters_after_runs(
    assets: Sequence[dg.AssetsDefinition], notices_job, monthly_job_name: str = MONTHLY_JOB
) -> dg.RunStatusSensorDefinition:
    """``notices_after_monthly_runs``: after a successful run that computed monthly assets (the schedule,
    a backfill, a violation recomputation), write the letters of the same months. Run-status sensors see the runs
    the daemon and the UI launch, not the ones ``migu-assets run`` executes in its own process: letters for those
    months are written by ``migu-assets notices --month``."""
    return after_monthly_runs(
        "notices_after_monthly_runs",
        notices_job,
        "月度计算（或违规重算）成功后，为相同月份生成结果通知函（notices_job）。",
        monthly_keys(assets),
        monthly_job_name,
        letters_request,
    )


def build_report_after_runs(
    assets: Sequence[dg.AssetsDefinition], report_job, monthly_job_name: str = MONTHLY_JOB
) -> dg.RunStatusSensorDefinition:
    """``report_after_monthly_runs``: after a successful run that computed monthly assets (the schedule, a backfill,
    a violation recomputation), write the Excel workbooks of the same months. ``migu-assets run`` executes its runs
    in its own process, which run-status sensors do not see, so it runs ``report_job`` itself."""
    return after_monthly_runs(
        "report_after_monthly_runs",
        report_job,
        "月度计算（或违规重算）成功后，为相同月份生成 Excel 月报（report_job）。",
        monthly_keys(assets),
        monthly_job_name,
        report_request,
    )
