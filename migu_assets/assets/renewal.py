"""第八章 续约及退出: the monthly renewal review (第十六至二十五条)."""

from collections import Counter

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import RENEWAL
from migu_assets.assets.factory import Invariant, TableSpec, build
from migu_assets.compute import renewal as compute
from migu_assets.compute.partners import ban_breaches
from migu_assets.partitions import previous_months
from migu_assets.policy import load_policy_book
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.vocabulary import DECISION_NAMES, DECISION_TERMINATED, NOT_RENEWED, RENEW
from migu_assets.warehouse import schema


def credit_window_months() -> int:
    """第二十条's window, the longest of every policy version in use (MIGU_POLICY_DIR or the shipped folder).

    This only tells Dagster which credit_scores partitions a month depends on (lineage and backfill order); the
    rows read come from the version in force in each month. Months before the first partition do not exist: allowed,
    and the rule then sees fewer months than it needs and refuses nobody (SPEC §8 rule 4).
    """
    return max(p.renewal.low_score_months for p in load_policy_book().versions)


def _decision_metadata(rows: list[dict]) -> dict:
    return {
        "decisions": dg.MetadataValue.json(dict(sorted(Counter(r["decision"] for r in rows).items()))),
        "late_notices": sum(1 for r in rows if r["late_notice"]),
        "reentry_bans": sum(1 for r in rows if r["reentry_banned_until"] is not None),
    }


RENEWAL_DECISIONS = TableSpec(
    table=schema.renewal_decisions,
    compute=compute.renewal_rows,
    deps=[
        dg.AssetDep("credit_scores", partition_mapping=previous_months(credit_window_months() - 1)),
        "contracts",
        "partners",
        "major_violations",
    ],
    group=RENEWAL,
    article="第十六至二十五条",
    description="""续约评估与退出（第十六至二十五条）。

    Month m reviews the contracts ending in month m + lead months with the data known by the end of m; the first
    matching rule decides and `reasons` lists every matching rule with its article: terminated by a major violation
    (第十九条, re-entry banned) or a credit score ≤ 0 (第二十条) → `terminated`; rights not delivered (第十七条,
    banned) → `not_renewed`; product not launched through the partner (第十八条) → `not_renewed`; every credit
    score of the policy's window below its threshold (第二十条, banned) → `not_renewed`; qualification lost
    (第二十二条) → `not_renewed`; exit requested (第二十一条, `late_notice` when under the notice months) →
    `partner_exit`; otherwise `renew` (第二十三条). A contract not signed within the policy's months of its signing
    decision gets an `abandoned` row (视为主动放弃, 第二十五条) in the month of that deadline. Periods, bans and
    thresholds come from the policy in force in the month.
    """,
    preview=lambda r: (r["decision"] == RENEW, r["month"], r["contract_id"]),
    count_by=["decision", "clause"],
    extra_metadata=_decision_metadata,
    check_name="renewal_decisions_consistent",
    invariants=[
        Invariant("unknown_decision", lambda t, _: t.c.decision.not_in(list(DECISION_NAMES))),
        Invariant(
            "ban_without_refusal",
            lambda t, _: sa.and_(
                t.c.reentry_banned_until.is_not(None), t.c.decision.not_in([DECISION_TERMINATED, NOT_RENEWED])
            ),
        ),
    ],
)

renewal_decisions, renewal_decisions_consistent = build(RENEWAL_DECISIONS)


# On renewal_decisions, the table whose bans it reads (every month's rows, plus each violation's 第十九条 ban): a
# check runs after its asset, so every run that computes renewal decisions checks the bans it has just written.
# Attached upstream (it was on monthly_credit_scores) it ran before them, and a fresh full-year run passed with no
# ban in the table while a later one-month run found the same breaches.
@dg.asset_check(
    asset=renewal_decisions,
    blocking=False,
    description="No contract starts on or before a re-entry ban's last day (SPEC v2 §4.3, 第十七、十九、二十条).",
)
def no_contract_inside_a_reentry_ban(warehouse: WarehouseResource, policy: PolicyResource) -> dg.AssetCheckResult:
    with warehouse.engine.connect() as conn:
        breaches = ban_breaches(conn, policy.book())
    listed = [
        {"partner_id": b.partner_id, "contract_id": b.contract_id, "start_date": str(b.start_date),
         "banned_until": str(b.banned_until), "ban_set_by": b.source}
        for b in breaches[:50]
    ]
    return dg.AssetCheckResult(
        passed=not breaches,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "breaches": len(breaches),
            "contracts": dg.MetadataValue.json(listed),
            "text": dg.MetadataValue.md("\n".join(f"- {b.partner_id}: {b.text}" for b in breaches[:50]) or "none"),
        },
    )
