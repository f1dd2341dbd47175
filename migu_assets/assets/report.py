"""The monthly Excel report for operators (月报): one workbook per month of the run's window."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from migu_assets import report as xlsx_report
from migu_assets.assets._common import OWNERS, REPORTING, WAREHOUSE_RETRY, window_months
from migu_assets.partitions import monthly_partitions
from migu_assets.resources import PolicyResource, WarehouseResource


class MonthlyReportConfig(dg.Config):
    out_dir: str = Field("", description="Folder for the workbooks; empty = $MIGU_HOME/reports")


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        dg.AssetDep("credit_grades"),
        dg.AssetDep("warning_tiers"),
        dg.AssetDep("control_actions"),
        dg.AssetDep("settlements"),
        dg.AssetDep("renewal_decisions"),
        dg.AssetDep("measures"),  # the 执行台账 sheet (SPEC v2 §5a) reads the month's measures
    ],
    group_name=REPORTING,
    retry_policy=WAREHOUSE_RETRY,
    owners=OWNERS,
    kinds={"excel", "python"},
    # not in monthly_job nor the violation recomputation: report_job follows every successful monthly computation
    # (report_after_monthly_runs; `migu-assets run` runs it itself), so the workbook is never stale
    metadata={"policy_article": "第八条、第十条、第十四条、第十五条、第十六至二十五条"},
)
def monthly_report(
    context: dg.AssetExecutionContext,
    config: MonthlyReportConfig,
    warehouse: WarehouseResource,
    policy: PolicyResource,
) -> dg.MaterializeResult:
    """月度运营报表（Excel）。

    `migu-report-YYYY-MM.xlsx` per month with the sheets 总览 (counts by grade, warning tier, control action,
    settlement status and renewal decision), 信用评级, 预警处罚, 管控措施, 结算, 续约 and 执行台账 (the measures'
    execution ledger as of the day the workbook is built, overdue rows red): Chinese headers, real dates
    and numbers, a 合计 row, and text that can never turn into a formula. `migu-assets report --month YYYY-MM`
    builds the same workbook straight from the warehouse.
    """
    months = window_months(context)
    paths = [Path(config.out_dir) / xlsx_report.report_filename(m) if config.out_dir else None for m in months]
    results = xlsx_report.build_reports(warehouse.url, months, paths, policy.book())  # many months: one per core
    for result in results:
        context.log.info(f"monthly_report {result.month:%Y-%m}: {result.path} {result.sheet_rows}")
    last = results[-1]
    per_sheet = {title: sum(r.sheet_rows[title] for r in results) for title in last.sheet_rows}
    overview = "\n\n".join(f"**{r.month:%Y-%m} 总览**\n\n{r.overview_markdown}" for r in results)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(last.path)),
            "paths": dg.MetadataValue.json([str(r.path) for r in results]),
            "months": ", ".join(f"{r.month:%Y-%m}" for r in results),
            "rows_per_sheet": dg.MetadataValue.json(per_sheet),
            **{f"rows/{title}": n for title, n in per_sheet.items()},
            "dagster/row_count": sum(per_sheet.values()),
            "preview": dg.MetadataValue.md(overview),
        }
    )
