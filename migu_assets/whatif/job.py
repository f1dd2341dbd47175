"""``whatif_job``: a what-if run launched from the Dagster UI (Launchpad: the draft path and the months).

An op job, not an asset job: the scenario's results are not the published assets, so they must not show up as
their materialisations. The run carries ``migu/kind=whatif`` and, once the request is read, ``migu/scenario``,
``migu/draft_version`` and ``migu/months``; the op's output metadata holds the summary and the workbook path.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
from pydantic import Field

from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.whatif.scenario import WhatIfOutcome, WhatIfRequest, run_tags, run_whatif

JOB_NAME = "whatif_job"
OP_NAME = "whatif_comparison"
KIND_TAGS = {"migu/kind": "whatif"}


class WhatIfConfig(dg.Config):
    policy: str = Field(description="草案政策文件（YAML）的路径，按正式政策文件同样校验")
    from_month: str = Field(description="首月 YYYY-MM：草案从这个月起替代现行政策")
    to_month: str = Field(description="末月 YYYY-MM（须已结束）")
    name: str = Field("", description="情景名（字母、数字、下划线）；空 = 草案文件名")
    out: str = Field("", description="对比工作簿路径；空 = $MIGU_HOME/scenarios/<情景名>.xlsx")

    def request(self) -> WhatIfRequest:
        def month(value: str, key: str) -> dt.date:
            try:
                return dt.datetime.strptime(value, "%Y-%m").date()
            except ValueError:
                raise ValueError(f"{key} 应为 YYYY-MM，收到 {value!r}") from None

        return WhatIfRequest(
            draft_path=Path(self.policy),
            first_month=month(self.from_month, "from_month"),
            last_month=month(self.to_month, "to_month"),
            name=self.name,
            out=Path(self.out) if self.out else None,
        )


@dg.op(name=OP_NAME, out=dg.Out(WhatIfOutcome, description="试算结果摘要"))
def whatif_comparison(
    context: dg.OpExecutionContext, config: WhatIfConfig, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.Output:
    """按草案政策在情景库中重算整条链路，并与已发布结果对比（评级、信用积分、处罚措施、暂停/停止支付金额）。"""
    request = config.request()
    outcome = run_whatif(request, warehouse.url, policy.directory, progress=context.log.info)
    context.instance.add_run_tags(context.run_id, outcome.tags())
    for line in outcome.summary:
        context.log.info(line)
    return dg.Output(
        outcome,
        metadata={
            "scenario": outcome.scenario,
            "draft_version": outcome.draft_version,
            "months": outcome.months,
            "store": outcome.store,
            "workbook": dg.MetadataValue.path(str(outcome.workbook)),
            "rows": outcome.rows,
            "changed_rows": outcome.changed,
            "grades_published": dg.MetadataValue.json(outcome.grades_published),
            "grades_draft": dg.MetadataValue.json(outcome.grades_draft),
            "summary": dg.MetadataValue.md("\n".join(f"    {line}" for line in outcome.summary)),
        },
    )


@dg.job(
    name=JOB_NAME, tags=KIND_TAGS, description="信用政策草案试算（what-if）：按草案重算指定月份并与已发布结果对比。"
)
def whatif_job():
    whatif_comparison()


__all__ = ["JOB_NAME", "KIND_TAGS", "OP_NAME", "WhatIfConfig", "run_tags", "whatif_job"]
