"""第五章 运营考核: daily complaint notifications (第七条), monthly warning tiers (第八条) and health (附件5)."""

from collections import Counter

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import (
    COMPLAINTS,
    CREDIT,
    OWNERS,
    PREVIEW_ROWS,
    WAREHOUSE_RETRY,
    materialization_metadata,
    window_dates,
)
from migu_assets.assets.charts import tier_chart
from migu_assets.assets.factory import Invariant, TableSpec, build
from migu_assets.compute import complaints as compute
from migu_assets.compute.partners import scored_partner_ids
from migu_assets.partitions import daily_partitions
from migu_assets.policy import Policy
from migu_assets.provenance import code_version
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.warehouse import schema


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["complaint_tickets", "partners"],
    group_name=COMPLAINTS,
    owners=OWNERS,
    kinds={"sql", "python"},
    metadata={"partition_expr": "day", "policy_article": "第七条"},
    code_version=code_version(compute),
    retry_policy=WAREHOUSE_RETRY,
)
def daily_complaint_counts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """每日不知情订购投诉量与通报次数（第七条、附件6）。

    One row per partner and day with at least one `uninformed_subscription` ticket: `complaints` and
    `notifications` (threshold and step of the policy in force: <5 → 0, ≥5 → 1, each further 5 → +1 in v2.1).
    Counted and written by one `INSERT … SELECT` in the database over the run's days (the notifications and the
    policy version of each day computed in SQL); a backfill of many days is a single run.
    """
    start, end = window_dates(context)
    table = schema.daily_complaint_counts
    select = compute.daily_counts_select(policy.book(), start, end, context.run_id)
    written = warehouse.replace_partition_from(table, "day", start, end, select)
    context.log.info(f"daily_complaint_counts {start}..{end}: {written} partner-days")
    in_window = sa.and_(table.c.day >= start, table.c.day < end)
    with warehouse.engine.connect() as conn:  # the metadata from the rows just written, summed in the database
        notified, notifications = conn.execute(
            sa.select(
                sa.func.count().filter(table.c.notifications > 0),
                sa.func.coalesce(sa.func.sum(table.c.notifications), 0),
            ).where(in_window)
        ).one()
        preview = [
            dict(r)
            for r in conn.execute(
                sa.select(table).where(in_window)
                .order_by(table.c.notifications.desc(), table.c.day, table.c.partner_id)
                .limit(PREVIEW_ROWS)
            ).mappings()
        ]
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            table,
            preview,
            row_count=written,
            extra={
                "days": f"{start} .. {end}",
                "partner_days_notified": int(notified),
                "notifications": int(notifications),
            },
        )
    )


def _tier_metadata(rows: list[dict]) -> dict:
    tiers = Counter(r["tier"] for r in rows)
    return {"tier_counts": dg.MetadataValue.json({str(k): v for k, v in tiers.items()}), "chart": tier_chart(tiers)}


def _tier_below_threshold(t: sa.Table, policy: Policy) -> sa.ColumnElement[bool]:
    return sa.or_(
        *[sa.and_(t.c.tier == w.tier, t.c.monthly_notifications < w.min_notifications) for w in policy.warning_tiers],
        t.c.tier.not_in([w.tier for w in policy.warning_tiers]),
    )


WARNING_TIERS = TableSpec(
    table=schema.warning_tiers,
    compute=compute.warning_tier_rows,
    deps=[dg.AssetDep("daily_complaint_counts")],
    group=COMPLAINTS,
    article="第八条",
    description="""分级预警及处罚（第八条、附件7）。

    Month's notifications summed day by day; one row per tier reached (thresholds of the policy in force: 5 一级,
    10 二级, 15 三级, 20 四级 in v2.1) with the day the running total first reached it, and the promotion / new-code
    suspensions it triggers (from = trigger + 1 day, until = trigger + period inclusive, 民法典第二百零一、二百零二条).
    """,
    count_by=["tier"],
    extra_metadata=_tier_metadata,
    violation_sensitive=False,
    check_name="warning_tiers_consistent",
    invariants=[
        Invariant("tier_below_its_threshold", _tier_below_threshold),
        Invariant(
            "promotion_period_reversed", lambda t, _: t.c.promotion_suspended_until < t.c.promotion_suspended_from
        ),
        Invariant("code_period_reversed", lambda t, _: t.c.code_suspended_until < t.c.code_suspended_from),
        Invariant("trigger_before_month", lambda t, _: t.c.trigger_date < t.c.month),
    ],
)

HEALTH_SCORES = TableSpec(
    table=schema.health_scores,
    compute=compute.health_rows,
    deps=[dg.AssetDep("daily_complaint_counts"), "complaint_tickets", "major_violations"],
    group=CREDIT,
    article="附件5",
    description="""健康度（扣分项，附件5 第1项）。

    `health = max(0, initial − per_notification × monthly_notifications − late_handling_deduction if timely_rate <
    threshold)` with the numbers of the policy in force (v2.1: 100, 25, 20, 95%, exactly 95% not penalised); the
    timely rate counts all tickets due in the month handled by their due time. One row per partner scored in the
    month (from its cooperation start until terminated).
    """,
    preview=lambda r: (r["health"], r["partner_id"]),
    count_by=["health"],
    check_name="health_scores_in_range",
    invariants=[Invariant("health_out_of_range", lambda t, p: sa.or_(t.c.health < 0, t.c.health > p.health.initial))],
)

warning_tiers, warning_tiers_consistent = build(WARNING_TIERS)
health_scores, health_scores_in_range = build(HEALTH_SCORES)


@dg.asset_check(asset=health_scores, description="Every partner scored in a month has a health row that month.")
def health_scores_valid(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    h = schema.health_scores
    with warehouse.engine.connect() as conn:
        missing = {}
        for (month,) in conn.execute(sa.select(h.c.month).distinct()):
            have = set(conn.execute(sa.select(h.c.partner_id).where(h.c.month == month)).scalars())
            lacking = sorted(set(scored_partner_ids(conn, month)) - have)
            if lacking:
                missing[str(month)] = lacking[:10]
    return dg.AssetCheckResult(passed=not missing, metadata={"months_missing_partners": dg.MetadataValue.json(missing)})
