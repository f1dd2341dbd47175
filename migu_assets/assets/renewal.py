"""第八章 续约及退出: the monthly renewal review (第十六至二十五条)."""

from collections import Counter

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import (
    OWNERS,
    RENEWAL,
    VIOLATION_SENSITIVE,
    WAREHOUSE_RETRY,
    materialization_metadata,
    write_months,
)
from migu_assets.compute import renewal as compute
from migu_assets.partitions import monthly_partitions
from migu_assets.policy import load_policy_book
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.rules import renewal as rules
from migu_assets.warehouse import schema

# Lineage of 第二十条's window (m−5..m with the shipped policy). The rows read come from the policy in force; this
# only tells Dagster which credit_scores partitions a month depends on. Months before the first partition do not
# exist: allowed, and the rule then sees fewer than six scores and refuses nobody (SPEC §8 rule 4).
_LOW_SCORE_MONTHS = max(p.renewal.low_score_months for p in load_policy_book().versions)
CREDIT_WINDOW = dg.TimeWindowPartitionMapping(
    start_offset=-(_LOW_SCORE_MONTHS - 1), allow_nonexistent_upstream_partitions=True
)


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        dg.AssetDep("credit_scores", partition_mapping=CREDIT_WINDOW),
        "contracts",
        "partners",
        "major_violations",
    ],
    group_name=RENEWAL,
    retry_policy=WAREHOUSE_RETRY,
    owners=OWNERS,
    kinds={"sql", "python"},
    metadata={"partition_expr": "month", "policy_article": "第十六至二十五条"},
    tags=VIOLATION_SENSITIVE,
)
def renewal_decisions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """续约评估与退出（第十六至二十五条）。

    Month m reviews the contracts ending in month m+1 with the data known by the end of m; the first matching rule
    decides and `reasons` lists every matching rule with its article: terminated by a major violation (第十九条,
    re-entry banned 2 years) or a credit score ≤ 0 (第二十条) → `terminated`; rights not delivered (第十七条, banned
    1 year) → `not_renewed`; product not launched through the partner (第十八条) → `not_renewed`; each of the last
    6 credit scores < 450 (第二十条, banned 1 year) → `not_renewed`; qualification lost (第二十二条) →
    `not_renewed`; exit requested (第二十一条, `late_notice` when under 1 month's notice, 2 on the network-wide
    rights platform) → `partner_exit`; otherwise `renew` (第二十三条). A contract not signed within 6 months of its
    signing decision gets an `abandoned` row (视为主动放弃, 第二十五条) in the month of that deadline.
    """
    rows, per_month = write_months(context, warehouse, policy, schema.renewal_decisions, compute.renewal_rows)
    decisions = Counter(r["decision"] for r in rows)
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.renewal_decisions,
            sorted(rows, key=lambda r: (r["decision"] == rules.RENEW, r["month"], r["contract_id"])),
            per_month=per_month,
            count_by=["decision", "clause"],
            extra={
                "decisions": dg.MetadataValue.json(dict(sorted(decisions.items()))),
                "late_notices": sum(1 for r in rows if r["late_notice"]),
                "reentry_bans": sum(1 for r in rows if r["reentry_banned_until"] is not None),
            },
        )
    )


@dg.asset_check(
    asset=renewal_decisions,
    description="Decisions are known values; only terminated / not_renewed rows carry a re-entry ban.",
)
def renewal_decisions_consistent(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    t = schema.renewal_decisions
    known = list(rules.DECISION_NAMES)
    with warehouse.engine.connect() as conn:
        bad = conn.execute(
            sa.select(sa.func.count()).where(
                sa.or_(
                    t.c.decision.not_in(known),
                    sa.and_(
                        t.c.reentry_banned_until.is_not(None),
                        t.c.decision.not_in([rules.TERMINATED, rules.NOT_RENEWED]),
                    ),
                )
            )
        ).scalar_one()
    return dg.AssetCheckResult(passed=int(bad) == 0, metadata={"inconsistent_rows": int(bad)})
