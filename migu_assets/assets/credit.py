"""第六章 信用积分管理: importance, monthly and weighted credit, grades with measures and due dates (第九至十四条)."""

from collections import Counter

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import CREDIT, count_rows
from migu_assets.assets.charts import grade_chart
from migu_assets.assets.factory import Invariant, TableSpec, build
from migu_assets.compute import credit as compute
from migu_assets.partitions import previous_months
from migu_assets.policy import Policy
from migu_assets.resources import WarehouseResource
from migu_assets.vocabulary import TERMINATED
from migu_assets.warehouse import schema

IMPORTANCE_SCORES = TableSpec(
    table=schema.importance_scores,
    compute=compute.importance_rows,
    deps=[
        "importance_declarations",
        "partner_monthly_business",
        "partners",
        "major_violations",
        "contracts",
        "credit_issue_dates",
    ],
    group=CREDIT,
    article="附件5 第2项",
    description="""战略重要性（加分项，附件5 第2项）。

    Company importance = highest value among approved declarations in force: one counts for month m when approved
    before m's results were issued (`reviewed_on < issued_on(m)`, SPEC v2 §4.2), never for a month already issued
    (不追溯之前已出具积分的月份); a subsidiary counts its parent's item only with exclusive authorisation (独家授权).
    Operational importance from the month's revenue, purchases and ad spend against the thresholds of the policy in
    force. Capped (v2.1: 100).
    """,
    preview=lambda r: (-r["importance"], r["partner_id"]),
    count_by=["importance"],
    check_name="importance_scores_in_range",
    invariants=[
        Invariant(
            "importance_out_of_range", lambda t, p: sa.or_(t.c.importance < 0, t.c.importance > p.importance.cap)
        ),
        Invariant(
            "importance_not_company_plus_operational",
            lambda t, p: t.c.importance
            != sa.case(
                (t.c.company_importance + t.c.operational_importance > p.importance.cap, p.importance.cap),
                else_=t.c.company_importance + t.c.operational_importance,
            ),
        ),
    ],
)

MONTHLY_CREDIT_SCORES = TableSpec(
    table=schema.monthly_credit_scores,
    compute=compute.monthly_credit_rows,
    deps=[dg.AssetDep("health_scores"), dg.AssetDep("importance_scores"), "contracts"],
    group=CREDIT,
    article="第十一条/附件5",
    description="""月度信用得分（第十一条、附件5）。

    `monthly_score = base + health_weight × health + importance_weight × importance` with the month's policy
    (v2.1: 100 + 7 × health + 2 × importance, range 100–1000). Every partner is scored from its cooperation start
    month until terminated, and again from the start month of a contract signed after the termination, with a
    fresh history (SPEC v2 §4.3).
    """,
    preview=lambda r: (r["monthly_score"], r["partner_id"]),
    check_name="monthly_scores_in_range",
    invariants=[
        Invariant(
            "monthly_score_out_of_range",
            lambda t, p: sa.or_(t.c.monthly_score < p.credit.base, t.c.monthly_score > p.credit.max_score),
        )
    ],
)


def _violations_applied(rows: list[dict]) -> dict:
    return {"violations_applied": sum(1 for r in rows if r["violation_id"])}


CREDIT_SCORES = TableSpec(
    table=schema.credit_scores,
    compute=compute.credit_score_rows,
    deps=[dg.AssetDep("monthly_credit_scores", partition_mapping=previous_months(2)), "major_violations"],
    group=CREDIT,
    article="第十一条、第十二条",
    description="""加权信用积分（第十一条）与违规扣分（第十二条）。

    `credit(m) = Σ wₖ · monthly_score(m−k)` over the policy's window weights (v2.1: 0.5, 0.3, 0.2 for m, m−1, m−2),
    renormalised over the months of the partner's current history. A major violation (附件8) occurring in m sets
    the month's credit to 0 (违规扣分); the partner is terminated from m and not scored afterwards unless it
    re-enters with a new contract (SPEC v2 §4.3).
    """,
    preview=lambda r: (r["credit_score"], r["partner_id"]),
    extra_metadata=_violations_applied,
    check_name="credit_scores_in_range",
    invariants=[
        Invariant(
            "credit_score_out_of_range",
            lambda t, p: sa.or_(t.c.credit_score < 0, t.c.credit_score > p.credit.max_score),
        ),
        Invariant("violation_not_zero", lambda t, _: sa.and_(t.c.violation_id.is_not(None), t.c.credit_score != 0)),
    ],
)


def expected_grade(score: sa.ColumnElement, policy: Policy) -> sa.ColumnElement:
    """第十条 as SQL: the band of the (already rounded) score under ``policy``; ≤ 0 is TERMINATED."""
    bands = [(score <= 0, TERMINATED)] + [(score >= band.min, band.grade) for band in policy.credit.grades]
    return sa.case(*bands, else_=sa.null())


def _grade_metadata(rows: list[dict]) -> dict:
    grades = Counter(r["grade"] for r in rows)
    return {
        "grade_distribution": dg.MetadataValue.json(dict(sorted(grades.items()))),
        "chart": grade_chart(grades),
        "partners_with_measures": sum(1 for r in rows if r["measures"]),
        "terminated": grades.get(TERMINATED, 0),
    }


CREDIT_GRADES = TableSpec(
    table=schema.credit_grades,
    compute=compute.credit_grade_rows,
    deps=[dg.AssetDep("credit_scores", partition_mapping=previous_months(1)), "credit_issue_dates"],
    group=CREDIT,
    article="第十条、第十四条",
    description="""信用评级与处罚措施（第十条、第十四条）。

    Grade from the rounded credit score and the bands of the month's policy (v2.1: A ≥ 800, B ≥ 600, C ≥ 450,
    D ≥ 300, E ≥ 150, F > 0, ≤ 0 TERMINATED); measures are cumulative. `issued_on` = recorded issue date or the
    policy's n-th Chinese working day of the next month; `due_on` = the policy's response working days later (调休
    included). Any later result (A and B included) issued on or before the previous month's C–F `due_on`
    supersedes it (`supersedes_month`, 以最新收到的信用积分级别为准, SPEC v2 §5); TERMINATED is never superseded.
    """,
    preview=lambda r: (r["credit_score"], r["partner_id"]),
    count_by=["grade"],
    extra_metadata=_grade_metadata,
    check_name="grade_matches_score_band",
    invariants=[
        Invariant(
            "grade_outside_its_band",
            lambda t, p: sa.func.coalesce(expected_grade(t.c.credit_score, p), "") != t.c.grade,
        ),
        Invariant("due_before_issue", lambda t, _: t.c.due_on <= t.c.issued_on),
    ],
)

importance_scores, importance_scores_in_range = build(IMPORTANCE_SCORES)
monthly_credit_scores, monthly_scores_in_range = build(MONTHLY_CREDIT_SCORES)
credit_scores, credit_scores_in_range = build(CREDIT_SCORES)
credit_grades, grade_matches_score_band = build(CREDIT_GRADES)


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

