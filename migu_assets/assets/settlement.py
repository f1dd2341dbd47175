"""第七章 结算管理: monthly settlements — revenue share, negative balances, holds, the exit clearing period and the
ledger of withheld money (SPEC v2 §7)."""

from collections import Counter
from decimal import Decimal

import dagster as dg

from migu_assets.assets._common import SETTLEMENT
from migu_assets.assets.factory import TableSpec, build
from migu_assets.compute import settlement as compute
from migu_assets.partitions import same_month
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
        **{k: _total(rows, k) for k in ("withheld", "released", "exit_deducted", "paid")},
    }


SETTLEMENTS = TableSpec(
    table=schema.settlements,
    compute=compute.settlement_month_rows,
    # A backfill rebuilds the ledger once for the whole window rather than once per month (a year: ~12× the work);
    # a month's rows do not depend on the other months asked for (compute.settlement's module doc).
    compute_range=compute.settlement_rows,
    # What a month reads of earlier months (compute.settlement's module doc): the ledger is rebuilt from the first
    # month with items on every run, from the source tables and the credit_grades / renewal_decisions rows of the
    # earlier months — never from stored settlements. The edges below are the same-month ones (identity mappings,
    # so a backfill runs the whole range of each upstream first, in one run); the earlier months of those tables
    # were materialised when those months were computed. Without a renewal decision the cooperation counts as
    # ended once the last contract's end date has passed (rules.settlement.cooperation_end).
    deps=[
        "settlement_items",
        "payment_holds",
        "major_violations",
        "contracts",
        "exit_deductions",
        same_month("credit_grades"),
        same_month("renewal_decisions"),
    ],
    group=SETTLEMENT,
    article="第四条/第十条/第十五条/第十九条/第二十四条",
    description="""合作伙伴月度结算台账（第四条、第十条、第十五条、第十九条、第二十四条）。

    Per partner and month, netted across its businesses: `gross = Σ info_fee`, `partner_share = Σ round2(info_fee ×
    share_ratio)` per item (第四条), `deductions`, `carried_in` = last month's negative balance (负结算, 第十五条),
    `net = partner_share − deductions + carried_in`; a negative net is carried out, else it is `payable`.
    Status: `stopped` from the month of a major violation not handled under the 不良信用名单 regime (第十九条);
    `held` for the month's own grade the policy holds while cooperating (第十条, lapsing after cooperation ended,
    第十条注), a payment hold overlapping the month (联动止付, 第十五条), or every month of the clearing period after
    a cooperation with phone-bill payment ended (清算期, 第二十四条); else `payable`.
    Ledger: `withheld` (payable of a held/stopped month) accumulates in `held_balance`; the next payable month
    releases it (`released`), the release after a clearing period first deducts `exit_deductions`
    (`exit_deducted`); `paid` is what is paid that month; a stopped balance is never released. Every run rebuilds
    the ledger from each partner's first month, so months computed alone, out of order or in one backfill give the
    same rows.
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
    description="net = partner_share − deductions + carried_in on every row; payable / carried_out split net; "
    "withheld, released, exit_deducted, paid and held_balance follow the ledger rules (SPEC v2 §7).",
)
def settlements_net_identity(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.engine.connect() as conn:
        bad = compute.arithmetic_violations(conn)
    return dg.AssetCheckResult(passed=bad == 0, metadata={"inconsistent_rows": bad})


@dg.asset_check(
    asset=settlements,
    description="Money conservation per partner (SPEC v2 §7): Σ paid + Σ exit_deducted + last held_balance = "
    "Σ payable, to the cent (summed in SQL; plus the first row's held_in when earlier months are not stored).",
)
def settlements_conserve_money(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.engine.connect() as conn:
        bad = compute.conservation_violations(conn)
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={"unbalanced_partners": len(bad), "partners": dg.MetadataValue.json(bad[:20])},
    )
