"""The two partition definitions every asset shares (Asia/Shanghai, SPEC §9).

Days and months start on ``MIGU_PARTITIONS_START`` (default 2023-01-01). The last daily partition is yesterday,
the last monthly partition the last complete month.
"""

import dagster as dg

from migu_assets.settings import partitions_start

TIMEZONE = "Asia/Shanghai"
START = partitions_start()

daily_partitions = dg.DailyPartitionsDefinition(start_date=START.isoformat(), timezone=TIMEZONE)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=START.isoformat(), timezone=TIMEZONE)



def previous_months(n: int) -> dg.TimeWindowPartitionMapping:
    """Months m−n..m; months before the first partition do not exist (the rules then see fewer months)."""
    return dg.TimeWindowPartitionMapping(start_offset=-n, end_offset=0, allow_nonexistent_upstream_partitions=True)


def same_month(key: str) -> dg.AssetDep:
    return dg.AssetDep(key, partition_mapping=dg.IdentityPartitionMapping())


# Dagster's run tags for a single run over a range of partitions (public tag names, see BackfillPolicy.single_run).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


# The fast path for many months, shown in every monthly asset's description (issue 14): an asset backfill launched
# from the lineage page is split by Dagster into one run per hop across a trailing-window mapping, each waiting for
# the backfill daemon's next 30 s iteration (BENCHMARKS.md), where the job's backfill is one run.
BACKFILL_HINT = (
    "补算多个月份：请在 Jobs → monthly_job → Partitions 选择月份范围后 Launch backfill（整个月度链路一次运行完成）；"
    "在 Lineage 页面选中多个资产补算时，Dagster 会按信用积分的跨月窗口拆成多次运行，每次等待约30秒。"
)
