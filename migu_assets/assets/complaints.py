"""第五章 运营考核: daily complaint notifications (第七条), monthly warning tiers (第八条) and health (附件5)."""

from collections import Counter

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import (
    COMPLAINTS,
    CREDIT,
    OWNERS,
    VIOLATION_SENSITIVE,
    WAREHOUSE_RETRY,
    count_rows,
    materialization_metadata,
    window_dates,
    write_months,
)
from migu_assets.assets.charts import tier_chart
from migu_assets.compute import complaints as compute
from migu_assets.compute.partners import scored_partner_ids
from migu_assets.partitions import daily_partitions, monthly_partitions
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.warehouse import schema


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["complaint_tickets", "partners"],
    group_name=COMPLAINTS,
    retry_policy=WAREHOUSE_RETRY,
    owners=OWNERS,
    kinds={"sql", "python"},
    metadata={"partition_expr": "day", "policy_article": "第七条"},
)
def daily_complaint_counts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """每日不知情订购投诉量与通报次数（第七条、附件6）。

    One row per partner and day with at least one `uninformed_subscription` ticket: `complaints` and
    `notifications` (<5 → 0, ≥5 → 1, each further 5 → +1). Counted with one SQL GROUP BY over the run's days;
    a backfill of many days is a single run.
    """
    start, end = window_dates(context)
    with warehouse.engine.connect() as conn:
        rows = compute.daily_counts(conn, policy.book(), start, end)
    written = warehouse.replace_partition(schema.daily_complaint_counts, "day", start, end, rows)
    context.log.info(f"daily_complaint_counts {start}..{end}: {written} partner-days")
    notified = [r for r in rows if r["notifications"] > 0]
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.daily_complaint_counts,
            sorted(rows, key=lambda r: (-r["notifications"], r["day"], r["partner_id"])),
            extra={
                "days": f"{start} .. {end}",
                "partner_days_notified": len(notified),
                "notifications": sum(r["notifications"] for r in rows),
            },
        )
    )


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep("daily_complaint_counts")],
    group_name=COMPLAINTS,
    retry_policy=WAREHOUSE_RETRY,
    owners=OWNERS,
    kinds={"sql", "python"},
    metadata={"partition_expr": "month", "policy_article": "第八条"},
)
def warning_tiers(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """分级预警及处罚（第八条、附件7）。

    Month's notifications summed day by day; one row per tier reached (5 一级, 10 二级, 15 三级, 20 四级) with the
    day the running total first reached it, and the promotion / new-code suspensions it triggers
    (from = trigger + 1 day, until = trigger + period inclusive, 民法典第二百零一、二百零二条).
    """
    rows, per_month = write_months(context, warehouse, policy, schema.warning_tiers, compute.warning_tier_rows)
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.warning_tiers,
            rows,
            per_month=per_month,
            count_by=["tier"],
            extra={
                "tier_counts": dg.MetadataValue.json({str(k): v for k, v in Counter(r["tier"] for r in rows).items()}),
                "chart": tier_chart(Counter(r["tier"] for r in rows)),
            },
        )
    )


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep("daily_complaint_counts"), "complaint_tickets", "major_violations"],
    group_name=CREDIT,
    retry_policy=WAREHOUSE_RETRY,
    owners=OWNERS,
    kinds={"sql", "python"},
    metadata={"partition_expr": "month", "policy_article": "附件5"},
    tags=VIOLATION_SENSITIVE,
)
def health_scores(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """健康度（扣分项，附件5 第1项）。

    `health = max(0, 100 − 25 × monthly_notifications − 20 if timely_rate < 95%)`; the timely rate counts all
    tickets due in the month handled by their due time (exactly 95% is not penalised). One row per partner
    scored in the month (from its cooperation start until terminated).
    """
    rows, per_month = write_months(context, warehouse, policy, schema.health_scores, compute.health_rows)
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.health_scores,
            sorted(rows, key=lambda r: (r["health"], r["partner_id"])),
            per_month=per_month,
            count_by=["health"],
        )
    )


@dg.asset_check(
    asset=warning_tiers, description="Each tier row's notifications reach the tier and periods are ordered."
)
def warning_tiers_consistent(warehouse: WarehouseResource, policy: PolicyResource) -> dg.AssetCheckResult:
    t = schema.warning_tiers
    mins = {tier.tier: tier.min_notifications for tier in policy.book().latest.warning_tiers}
    bad_tier = sa.or_(*[sa.and_(t.c.tier == k, t.c.monthly_notifications < v) for k, v in mins.items()])
    n_bad = count_rows(
        warehouse,
        sa.select(sa.func.count()).where(
            sa.or_(
                bad_tier,
                t.c.promotion_suspended_until < t.c.promotion_suspended_from,
                t.c.code_suspended_until < t.c.code_suspended_from,
                t.c.trigger_date < t.c.month,
            )
        ),
    )
    return dg.AssetCheckResult(passed=n_bad == 0, metadata={"inconsistent_rows": n_bad})


@dg.asset_check(asset=health_scores, description="Health lies in 0..100 and every scored partner has a row each month.")
def health_scores_valid(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    h = schema.health_scores
    with warehouse.engine.connect() as conn:
        out_of_range = int(
            conn.execute(sa.select(sa.func.count()).where(sa.or_(h.c.health < 0, h.c.health > 100))).scalar_one()
        )
        missing = {}
        for (month,) in conn.execute(sa.select(h.c.month).distinct()):
            have = set(conn.execute(sa.select(h.c.partner_id).where(h.c.month == month)).scalars())
            lacking = sorted(set(scored_partner_ids(conn, month)) - have)
            if lacking:
                missing[str(month)] = lacking[:10]
    return dg.AssetCheckResult(
        passed=out_of_range == 0 and not missing,
        metadata={"out_of_range": out_of_range, "months_missing_partners": dg.MetadataValue.json(missing)},
    )
