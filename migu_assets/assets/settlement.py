"""第七章 结算管理: monthly settlements — revenue share, negative balances, holds and the exit clearing period."""

from collections import Counter
from decimal import Decimal

import dagster as dg

from migu_assets.assets._common import SETTLEMENT
from migu_assets.assets.factory import TableSpec, build, same_month
from migu_assets.compute import settlement as compute
from migu_assets.resources import WarehouseResource
from migu_assets.vocabulary import HELD, PAYABLE, STOPPED
from migu_assets.warehouse import schema

_SEVERITY = {STOPPED: 0, HELD: 1}


def _total(rows, column: str, status: str | None = None) -> str:
    return str(sum((r[column] for r in rows if status is None or r["status"] == status), Decimal("0.00")))


def _money_metadata(rows: list[dict]) -> dict:
    return {
        "status_counts": dg.MetadataValue.json(dict(sorted(Counter(r["status"] for r in rows).items()))),
        "gross": _total(rows, "gross"),
        "payable": _total(rows, "payable", PAYABLE),
        "held_amount": _total(rows, "payable", HELD),
        "stopped_amount": _total(rows, "payable", STOPPED),
        "carried_out": _total(rows, "carried_out"),
    }


SETTLEMENTS = TableSpec(
    table=schema.settlements,
    compute=compute.settlement_month_rows,
    # credit_grades: the same month's grade. Renewal decisions of earlier months decide the clearing period; the
    # same-month edge makes a backfill run renewal_decisions for the whole range before settlements (no cycle:
    # renewals never read settlements). Without a renewal decision the cooperation counts as ended once the last
    # contract's end date has passed (rules.settlement.cooperation_end).
    deps=[
        "settlement_items",
        "payment_holds",
        "major_violations",
        "contracts",
        same_month("credit_grades"),
        same_month("renewal_decisions"),
    ],
    group=SETTLEMENT,
    article="第四条/第十五条/第十九条/第二十四条",
    description="""合作伙伴月度结算（第四条、第十五条、第十九条、第二十四条）。

    Per partner and month, netted across its businesses: `gross = Σ info_fee`, `partner_share = Σ round2(info_fee ×
    share_ratio)` per item (第四条), `deductions`, `carried_in` = last month's negative balance (负结算, 第十五条),
    `net = partner_share − deductions + carried_in`; a negative net is carried out, else it is `payable`.
    Status: `stopped` from the month of a major violation (第十九条); `held` for a grade the policy holds that month
    (第十条), a payment hold overlapping the month (联动止付, 第十五条), or phone-bill items within the clearing
    months after the cooperation ended (清算期, 第二十四条); else `payable`. Held amounts stay visible. Each month is
    recomputed from the source items (the carry from the partner's first month on), so months computed alone, out
    of order or in one backfill give the same rows.
    """,
    preview=lambda r: (_SEVERITY.get(r["status"], 2), r["month"], r["partner_id"]),
    count_by=["status", "clause"],
    extra_metadata=_money_metadata,
)

settlements, _ = build(SETTLEMENTS)


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
