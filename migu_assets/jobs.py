"""Jobs and schedules (SPEC §9).

A job cannot span daily and monthly partitions, so there are two: ``daily_job`` (yesterday's complaint counts,
01:00 Asia/Shanghai) and ``monthly_job`` (the previous month's whole monthly chain, 03:00 on the 1st — after the
daily run has counted the month's last day). Both use single-run backfills, so a range costs one run per job.
"""

import dagster as dg

from migu_assets.partitions import daily_partitions, monthly_partitions


def _keys(assets, partitions_def) -> list[dg.AssetKey]:
    return [key for a in assets if a.partitions_def == partitions_def for key in a.keys]


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
        description="月度链路：预警、健康度、重要性、信用积分与评级、管控、结算、续约。",
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
        dg.build_schedule_from_partitioned_job(
            monthly_job,
            name="monthly_chain_schedule",
            hour_of_day=3,
            minute_of_hour=0,
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
    ]
