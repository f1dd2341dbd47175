"""第七章 结算管理: monthly settlements — revenue share, negative balances, holds and the exit clearing period."""

from collections import Counter
from decimal import Decimal

import dagster as dg

from migu_assets.assets._common import (
    OWNERS,
    SETTLEMENT,
    VIOLATION_SENSITIVE,
    WAREHOUSE_RETRY,
    materialization_metadata,
    window_months,
)
from migu_assets.compute import settlement as compute
from migu_assets.partitions import monthly_partitions
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.rules.periods import next_month
from migu_assets.rules.settlement import HELD, STOPPED
from migu_assets.warehouse import schema

_SEVERITY = {STOPPED: 0, HELD: 1}


def _total(rows, column: str, status: str | None = None) -> str:
    return str(sum((r[column] for r in rows if status is None or r["status"] == status), Decimal("0.00")))


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # credit_grades: the same month's grade (identity mapping). Without a renewal decision the cooperation counts
    # as ended once the last contract's end date has passed (rules.settlement.cooperation_end).
    deps=[
        "settlement_items",
        "payment_holds",
        "major_violations",
        "contracts",
        dg.AssetDep("credit_grades", partition_mapping=dg.IdentityPartitionMapping()),
        # Renewal decisions of earlier months decide the clearing period; the same-month edge makes a backfill
        # run renewal_decisions for the whole range before settlements (no cycle: renewals never read settlements).
        dg.AssetDep("renewal_decisions", partition_mapping=dg.IdentityPartitionMapping()),
    ],
    group_name=SETTLEMENT,
    retry_policy=WAREHOUSE_RETRY,
    owners=OWNERS,
    kinds={"sql", "python"},
    tags=VIOLATION_SENSITIVE,
    metadata={"partition_expr": "month", "policy_article": "第四条/第十五条/第十九条/第二十四条"},
)
def settlements(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """合作伙伴月度结算（第四条、第十五条、第十九条、第二十四条）。

    Per partner and month, netted across its businesses: `gross = Σ info_fee`, `partner_share = Σ round2(info_fee ×
    share_ratio)` per item (第四条), `deductions`, `carried_in` = last month's negative balance (负结算, 第十五条),
    `net = partner_share − deductions + carried_in`; a negative net is carried out, else it is `payable`.
    Status: `stopped` from the month of a major violation (第十九条); `held` for an E/F/TERMINATED grade that month
    (第十条), a payment hold overlapping the month (联动止付, 第十五条), or phone-bill items within 9 months after the
    cooperation ended (清算期, 第二十四条); else `payable`. Held amounts stay visible. The carry is recomputed from
    the source items every time, so months computed alone, out of order or in one backfill give the same rows.
    """
    months = window_months(context)
    with warehouse.engine.connect() as conn:
        by_month = compute.settlement_rows(conn, policy.book(), months)
    rows: list[dict] = []
    per_month: dict = {}
    for month in months:
        month_rows = by_month.get(month, [])
        per_month[month] = warehouse.replace_partition(
            schema.settlements, "month", month, next_month(month), month_rows
        )
        context.log.info(f"settlements {month:%Y-%m}: {per_month[month]} rows")
        rows.extend(month_rows)
    statuses = Counter(r["status"] for r in rows)
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.settlements,
            sorted(rows, key=lambda r: (_SEVERITY.get(r["status"], 2), r["month"], r["partner_id"])),
            per_month=per_month,
            count_by=["status", "clause"],
            extra={
                "status_counts": dg.MetadataValue.json(dict(sorted(statuses.items()))),
                "gross": _total(rows, "gross"),
                "payable": _total(rows, "payable", "payable"),
                "held_amount": _total(rows, "payable", HELD),
                "stopped_amount": _total(rows, "payable", STOPPED),
                "carried_out": _total(rows, "carried_out"),
            },
        )
    )


@dg.asset_check(
    asset=settlements,
    description="Every month's Σ gross and Σ deductions equal Σ info_fee and Σ deductions of settlement_items, "
    "to the cent (both sides summed in SQL).",
)
def settlements_reconcile_with_items(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.engine.connect() as conn:
        mismatches = compute.reconciliation(conn)
    return dg.AssetCheckResult(
        passed=not mismatches,
        metadata={"mismatched_months": len(mismatches), "mismatches": dg.MetadataValue.json(mismatches[:20])},
    )


@dg.asset_check(
    asset=settlements,
    description="net = partner_share − deductions + carried_in on every row; payable / carried_out split net.",
)
def settlements_net_identity(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.engine.connect() as conn:
        bad = compute.arithmetic_violations(conn)
    return dg.AssetCheckResult(passed=bad == 0, metadata={"inconsistent_rows": bad})
