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
