"""结果通知函 (第十四条): the month's partner letters as DOCX and PDF, recorded in the ``notices`` table."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from migu_assets import notices as letters
from migu_assets.assets._common import (
    OWNERS,
    REPORTING,
    WAREHOUSE_RETRY,
    markdown_table,
    window_months,
)
from migu_assets.partitions import monthly_partitions
from migu_assets.provenance import code_version
from migu_assets.resources import WarehouseResource


class NoticesConfig(dg.Config):
    out_dir: str = Field(
        "", description="Folder for the letters (one sub-folder per month); empty = $MIGU_HOME/notices"
    )


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        dg.AssetDep("credit_grades"),
        dg.AssetDep("warning_tiers"),
        dg.AssetDep("control_actions"),
        dg.AssetDep("settlements"),
    ],
    group_name=REPORTING,
    owners=OWNERS,
    kinds={"pdf", "python"},
    # not in monthly_job nor the violation recomputation: notices_job follows every successful monthly computation
    metadata={"partition_expr": "month", "policy_article": "第十条、第十四条、第八条、附件1–4、第七章"},
    code_version=code_version(letters),
    retry_policy=WAREHOUSE_RETRY,
)
def notices(
    context: dg.AssetExecutionContext, config: NoticesConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """合作伙伴信用积分结果通知函（第十四条）。

    One letter per partner with a C–F or TERMINATED grade, a warning tier, a control action or a result that
    supersedes the previous month's (以最新收到的信用积分级别为准) in the month, rendered from the package's Jinja2
    template to DOCX and PDF: score and grade, each measure with its article and due date, suspensions with their
    dates, the settlement consequence and the chain of `migu-assets explain`. Each file is a row of `notices`
    (partner, month, kind, file, sha256). Same data → same bytes. `migu-assets notices --month YYYY-MM` writes the
    same letters without Dagster.
    """
    root = Path(config.out_dir) if config.out_dir else None
    results = []
    for month in window_months(context):
        result = letters.build_notices(warehouse.engine, month, root, run_id=context.run_id)
        context.log.info(f"notices {month:%Y-%m}: {len(result.partners)} letters in {letters.notices_dir(month, root)}")
        results.append(result)
    rows = [
        {
            "partner_id": f.partner_id,
            "month": f"{f.month:%Y-%m}",
            "kind": f.kind,
            "file": f.path.name,
            "sha256": f.sha256[:12],
        }
        for r in results
        for f in r.files
        if f.format == "pdf"
    ]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(len(r.files) for r in results),
            "letters": len(rows),
            "letters_per_month": dg.MetadataValue.json({f"{r.month:%Y-%m}": len(r.partners) for r in results}),
            "folder": dg.MetadataValue.path(str(letters.notices_dir(results[-1].month, root))),
            "preview": dg.MetadataValue.md(markdown_table(rows, ["partner_id", "month", "kind", "file", "sha256"])),
        }
    )
