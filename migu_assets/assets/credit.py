"""第六章 信用积分管理: importance, monthly and weighted credit, grades with measures and due dates (第九至十四条)."""

from collections import Counter

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import (
    CREDIT,
    OWNERS,
    VIOLATION_SENSITIVE,
    WAREHOUSE_RETRY,
    count_rows,
    materialization_metadata,
    write_months,
)
from migu_assets.assets.charts import grade_chart
from migu_assets.compute import credit as compute
from migu_assets.partitions import monthly_partitions
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.rules.credit import ACTION_GRADES, TERMINATED, grade_for
from migu_assets.warehouse import schema

_COMMON = dict(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=CREDIT,
    owners=OWNERS,
    kinds={"sql", "python"},
    tags=VIOLATION_SENSITIVE,
    retry_policy=WAREHOUSE_RETRY,
)


def _previous_months(n: int) -> dg.TimeWindowPartitionMapping:
    """Months m−n..m; the first partitions simply have fewer upstream months (renormalised weights)."""
    return dg.TimeWindowPartitionMapping(start_offset=-n, end_offset=0, allow_nonexistent_upstream_partitions=True)


@dg.asset(
    deps=["importance_declarations", "partner_monthly_business", "partners", "major_violations"],
    metadata={"partition_expr": "month", "policy_article": "附件5 第2项"},
    **_COMMON,
)
def importance_scores(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """战略重要性（加分项，附件5 第2项）。

    Company importance = highest value among approved declarations in force (from the month of review on, never
    retroactively — 不追溯); a subsidiary counts its parent's item only with exclusive authorisation (独家授权).
    Operational importance = 50 when revenue ≥ 50,000, purchases ≥ 50,000 or ad spend ≥ 500,000. Capped at 100.
    """
    rows, per_month = write_months(context, warehouse, policy, schema.importance_scores, compute.importance_rows)
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.importance_scores,
            sorted(rows, key=lambda r: (-r["importance"], r["partner_id"])),
            per_month=per_month,
            count_by=["importance"],
        )
    )


@dg.asset(
    deps=[dg.AssetDep("health_scores"), dg.AssetDep("importance_scores")],
    metadata={"partition_expr": "month", "policy_article": "第十一条/附件5"},
    **_COMMON,
)
def monthly_credit_scores(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """月度信用得分（第十一条、附件5）。

    `monthly_score = 100 + 7 × health + 2 × importance` (range 100–1000; base and weights in the policy file).
    Every partner is scored from its cooperation start month until terminated.
    """
    rows, per_month = write_months(
        context, warehouse, policy, schema.monthly_credit_scores, compute.monthly_credit_rows
    )
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.monthly_credit_scores,
            sorted(rows, key=lambda r: (r["monthly_score"], r["partner_id"])),
            per_month=per_month,
        )
    )


@dg.asset(
    deps=[dg.AssetDep("monthly_credit_scores", partition_mapping=_previous_months(2)), "major_violations"],
    metadata={"partition_expr": "month", "policy_article": "第十一条、第十二条"},
    **_COMMON,
)
def credit_scores(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """加权信用积分（第十一条）与违规扣分（第十二条）。

    `credit(m) = Σ wₖ · monthly_score(m−k)`, k = 0..2, w = (0.5, 0.3, 0.2), renormalised over the months the
    partner was scored. A major violation (附件8) occurring in m sets the month's credit to 0 (违规扣分); the
    partner is terminated from m and not scored afterwards.
    """
    rows, per_month = write_months(context, warehouse, policy, schema.credit_scores, compute.credit_score_rows)
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.credit_scores,
            sorted(rows, key=lambda r: (r["credit_score"], r["partner_id"])),
            per_month=per_month,
            extra={"violations_applied": sum(1 for r in rows if r["violation_id"])},
        )
    )


@dg.asset(
    deps=[dg.AssetDep("credit_scores", partition_mapping=_previous_months(1)), "credit_issue_dates"],
    metadata={"partition_expr": "month", "policy_article": "第十条、第十四条"},
    **_COMMON,
)
def credit_grades(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """信用评级与处罚措施（第十条、第十四条）。

    Grade from the rounded credit score: A ≥ 800, B ≥ 600, C ≥ 450, D ≥ 300, E ≥ 150, F > 0, ≤ 0 TERMINATED;
    measures are cumulative. `issued_on` = recorded issue date or the 5th Chinese working day of the next month;
    `due_on` = 5 working days later (调休 included). A C–F result received while the previous month's C–F result
    is still within its 5 working days supersedes it (以最新收到的信用积分级别为准).
    """
    rows, per_month = write_months(context, warehouse, policy, schema.credit_grades, compute.credit_grade_rows)
    grades = Counter(r["grade"] for r in rows)
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.credit_grades,
            sorted(rows, key=lambda r: (r["credit_score"], r["partner_id"])),
            per_month=per_month,
            count_by=["grade"],
            extra={
                "grade_distribution": dg.MetadataValue.json(dict(sorted(grades.items()))),
                "chart": grade_chart(grades),
                "partners_with_measures": sum(v for k, v in grades.items() if k in ACTION_GRADES),
                "terminated": grades.get(TERMINATED, 0),
            },
        )
    )


@dg.asset_check(asset=monthly_credit_scores, description="Monthly scores lie in 100..1000 (附件5 defaults).")
def monthly_scores_in_range(warehouse: WarehouseResource, policy: PolicyResource) -> dg.AssetCheckResult:
    m = schema.monthly_credit_scores
    c = policy.book().latest.credit
    bad = count_rows(
        warehouse, sa.select(sa.func.count()).where(sa.or_(m.c.monthly_score < c.base, m.c.monthly_score > c.max_score))
    )
    return dg.AssetCheckResult(passed=bad == 0, metadata={"out_of_range": bad})


@dg.asset_check(asset=credit_scores, description="Credit scores lie in 0..1000 (第九条).")
def credit_scores_in_range(warehouse: WarehouseResource, policy: PolicyResource) -> dg.AssetCheckResult:
    cs = schema.credit_scores
    top = policy.book().latest.credit.max_score
    bad = count_rows(
        warehouse, sa.select(sa.func.count()).where(sa.or_(cs.c.credit_score < 0, cs.c.credit_score > top))
    )
    return dg.AssetCheckResult(passed=bad == 0, metadata={"out_of_range": bad})


@dg.asset_check(asset=credit_grades, description="Each grade matches its score band (第十条).")
def grade_matches_score_band(warehouse: WarehouseResource, policy: PolicyResource) -> dg.AssetCheckResult:
    g = schema.credit_grades
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.select(g.c.partner_id, g.c.month, g.c.credit_score, g.c.grade)).all()
    book = policy.book()
    wrong = [
        f"{pid} {month:%Y-%m}: {score} → {grade}"
        for pid, month, score, grade in rows
        if grade_for(score, book.for_month(month).credit).grade != grade
    ]
    return dg.AssetCheckResult(passed=not wrong, metadata={"mismatches": len(wrong), "examples": wrong[:10]})


@dg.asset_check(asset=credit_grades, description="Every partner scored in a graded month has a grade that month.")
def every_scored_partner_graded(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    g, cs = schema.credit_grades, schema.health_scores  # health rows = the partners scored that month
    graded_months = sa.select(g.c.month).distinct().scalar_subquery()
    missing = (
        sa.select(sa.func.count())
        .select_from(cs.outerjoin(g, sa.and_(g.c.partner_id == cs.c.partner_id, g.c.month == cs.c.month)))
        .where(cs.c.month.in_(graded_months), g.c.partner_id.is_(None))
    )
    n = count_rows(warehouse, missing)
    return dg.AssetCheckResult(passed=n == 0, metadata={"ungraded_partner_months": n})
