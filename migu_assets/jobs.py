"""Jobs and schedules (SPEC §9).

A job cannot span daily and monthly partitions, so there are two: ``daily_job`` (yesterday's complaint counts,
01:00 Asia/Shanghai) and ``monthly_job`` (the previous month's whole monthly chain). The monthly schedule ticks
hourly from 03:00 on the 1st and requests the month only once the daily count of its last day is materialised
(run key per month, so it runs once); until then each tick says what it waits for. Both jobs use single-run
backfills, so a range costs one run per job.
"""

import datetime as dt

import dagster as dg

from migu_assets.partitions import daily_partitions, monthly_partitions

# The documents are not part of the computation chain; each has its own job, requested right after every
# successful monthly computation (sensors/status.py); ``migu-assets run`` runs the workbooks itself, last:
# - the result letters (``notices_job``): thousands a month at ~0.3 s each at production size would make every
#   monthly run and every violation recomputation minutes longer;
# - the Excel workbook (``report_job``): at full size (5,000 partners, 330,000–380,000 cells) writing it is ~2 s of pure
#   Python a month — half of a month's computation — and a year's twelve ~20 s (BENCHMARKS.md, issue 14). Outside
#   the chain, a violation recomputation reaches the new grade without waiting for it, and a workbook that cannot be
#   written (a full disk, a locked file) no longer fails the month's computed verdicts; it is retried on its own.
LETTERS = dg.AssetKey("notices")
REPORT = dg.AssetKey("monthly_report")
DOCUMENTS = frozenset({LETTERS, REPORT})
DOCUMENT_JOBS = frozenset({"notices_job", "report_job"})


def _keys(assets, partitions_def) -> list[dg.AssetKey]:
    return [key for a in assets if a.partitions_def == partitions_def for key in a.keys if key not in DOCUMENTS]


def _document_job(name: str, key: dg.AssetKey, description: str):
    assert name in DOCUMENT_JOBS, name  # completeness.py: document runs decide nothing
    return dg.define_asset_job(
        name, selection=dg.AssetSelection.assets(key), partitions_def=monthly_partitions, description=description
    )


def build_notices_job():
    return _document_job(
        "notices_job", LETTERS, "结果通知函（第十四条）：每次月度计算成功后为相同月份生成 DOCX/PDF 通知函。"
    )


def build_report_job():
    return _document_job(
        "report_job", REPORT, "Excel 月报：每次月度计算成功后为相同月份生成（migu-assets run 在算完后直接运行）。"
    )


def build_jobs(assets):
    """``(daily_job, monthly_job)`` over the assets of each partitions definition."""
    daily_job = dg.define_asset_job(
        "daily_job",
        selection=dg.AssetSelection.assets(*_keys(assets, daily_partitions)),
        partitions_def=daily_partitions,
        description="每日不知情订购投诉统计（第七条）。",
    )
    monthly_job = dg.define_asset_job(
        "monthly_job",
        selection=dg.AssetSelection.assets(*_keys(assets, monthly_partitions)),
        partitions_def=monthly_partitions,
        description="月度链路：预警、健康度、重要性、信用积分与评级、处罚措施、管控、结算、续约；"
        "成功后 report_job 生成 Excel 月报、notices_job 生成结果通知函。"
        "补算多个月份请在本作业的 Partitions 页面选择月份范围后 Launch backfill：整个链路一次运行完成。",
    )
    return daily_job, monthly_job


def build_schedules(daily_job, monthly_job) -> list[dg.ScheduleDefinition]:
    return [
        dg.build_schedule_from_partitioned_job(
            daily_job,
            name="daily_complaints_schedule",
            hour_of_day=1,
            minute_of_hour=0,
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
        _monthly_after_last_day(monthly_job),
    ]


DAILY_COUNTS = dg.AssetKey("daily_complaint_counts")


def _monthly_after_last_day(monthly_job) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="monthly_chain_schedule",
        job=monthly_job,
        cron_schedule="0 3-23 1 * *",
        execution_timezone=monthly_partitions.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="上月链路：月初（03:00起每小时）在上月最后一天的投诉统计完成后计算。",
    )
    def monthly_chain_schedule(context: dg.ScheduleEvaluationContext):
        this_month = context.scheduled_execution_time.date().replace(day=1)
        last_day = this_month - dt.timedelta(days=1)
        month_key = last_day.replace(day=1).isoformat()
        counted = context.instance.get_materialized_partitions(DAILY_COUNTS)
        if last_day.isoformat() not in counted:
            return dg.SkipReason(f"waiting for daily_complaint_counts {last_day} before computing {month_key[:7]}")
        return dg.RunRequest(run_key=f"monthly_chain:{month_key}", partition_key=month_key)

    return monthly_chain_schedule


def build_status_schedule(status_job) -> dg.ScheduleDefinition:
    """Daily refresh of the as-of-today assets (partner_status, measure_ledger): statuses move with the calendar —
    a measure becomes overdue the day after its due date without any new data (SPEC v2 §5a)."""
    return dg.ScheduleDefinition(
        name="daily_status_schedule",
        job=status_job,
        cron_schedule="30 1 * * *",
        execution_timezone=monthly_partitions.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="每日01:30刷新合作方当前状态与处罚措施执行台账（逾期状态随日期变化）。",
    )
