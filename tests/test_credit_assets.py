"""The credit chain through Dagster (SPEC §4.2–§5, §9): importance → monthly → weighted credit → grades,
the non-retroactive declaration, violation termination, supersession, and backfill == month by month."""

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from dagster_helpers import materialize_range
from factories import credit_story, insert, partner, table_rows

from migu_assets.warehouse import schema

D = dt.date
OUTPUTS = [
    schema.health_scores,
    schema.importance_scores,
    schema.monthly_credit_scores,
    schema.credit_scores,
    schema.credit_grades,
]


def scenario(engine):
    """P1: 2, 2, 3 notifications Jan–Mar, violation 2024-04-10. P2: starts Feb, cmcc declaration reviewed Mar 20."""
    insert(engine, schema.partners, [partner("P1"), partner("P2", start=D(2024, 2, 1))])
    credit_story(engine)
    insert(
        engine,
        schema.major_violations,
        [
            {
                "violation_id": "V1",
                "partner_id": "P1",
                "violation_type": 3,
                "occurred_on": D(2024, 4, 10),
                "recorded_at": dt.datetime(2024, 4, 11, 9),
                "description": "违反国家法律法规开展业务",
                "bad_credit_list": False,
            }
        ],
    )


def run_range(db_url, first, last, instance=None):
    assert materialize_range(db_url, "daily_job", f"{first}-01", _last_day(last), instance).success
    assert materialize_range(db_url, "monthly_job", f"{first}-01", f"{last}-01", instance).success


def _last_day(month):
    import calendar

    y, m = map(int, month.split("-"))
    return f"{month}-{calendar.monthrange(y, m)[1]:02d}"


def _by(engine, table):
    return {(r["partner_id"], r["month"]): r for r in table_rows(engine, table)}


def test_credit_chain_hand_computed(db_url, engine):
    scenario(engine)
    run_range(db_url, "2024-01", "2024-05")
    monthly = {k: v["monthly_score"] for k, v in _by(engine, schema.monthly_credit_scores).items()}
    assert monthly == {
        ("P1", D(2024, 1, 1)): Decimal("450.00"),
        ("P1", D(2024, 2, 1)): Decimal("450.00"),
        ("P1", D(2024, 3, 1)): Decimal("275.00"),
        ("P1", D(2024, 4, 1)): Decimal("800.00"),
        ("P2", D(2024, 2, 1)): Decimal("1000.00"),  # SPEC v2 §4.2: approved Mar 20 < Feb issued Apr 1
        ("P2", D(2024, 3, 1)): Decimal("1000.00"),
        ("P2", D(2024, 4, 1)): Decimal("1000.00"),
        ("P2", D(2024, 5, 1)): Decimal("1000.00"),
    }  # P1 is terminated from April: not scored in May
    credit = _by(engine, schema.credit_scores)
    # Mar P1: 0.5×275 + 0.3×450 + 0.2×450 = 362.50; P2 Mar: (0.5×1000 + 0.3×1000)/0.8 = 1000.00
    assert credit[("P1", D(2024, 3, 1))]["credit_score"] == Decimal("362.50")
    assert credit[("P2", D(2024, 2, 1))]["months_used"] == 1
    assert credit[("P2", D(2024, 3, 1))]["credit_score"] == Decimal("1000.00")
    assert credit[("P1", D(2024, 4, 1))]["credit_score"] == Decimal("0.00")
    assert credit[("P1", D(2024, 4, 1))]["violation_id"] == "V1"

    grades = _by(engine, schema.credit_grades)
    g = {k: v["grade"] for k, v in grades.items()}
    assert [g[("P1", D(2024, m, 1))] for m in (1, 2, 3, 4)] == ["C", "C", "D", "TERMINATED"]
    assert g[("P2", D(2024, 3, 1))] == "A"
    jan = grades[("P1", D(2024, 1, 1))]
    assert (jan["issued_on"], jan["due_on"]) == (D(2024, 2, 6), D(2024, 2, 19))  # Spring Festival + 调休
    mar = grades[("P1", D(2024, 3, 1))]
    assert (mar["issued_on"], mar["due_on"]) == (D(2024, 4, 8), D(2024, 4, 15))
    assert mar["supersedes_month"] == D(2024, 2, 1)  # Feb's C was due Apr 9 ≥ Mar's issue date Apr 8
    assert grades[("P1", D(2024, 2, 1))]["supersedes_month"] is None  # Jan's C was due Feb 19 < Apr 1
    assert mar["clause"] == "第十条/D" and "暂停话费计费能力或暂停客户端推广" in mar["measures"]
    assert "V1" in grades[("P1", D(2024, 4, 1))]["reason"]


def test_declaration_approved_before_february_was_issued_counts_for_february_also_when_recomputed(db_url, engine):
    """SPEC v2 §4.2 (changed from v1's "from the month of approval"): approved 2024-03-20, February's results issued
    2024-04-01 → it counts for February; recomputing February later gives the same row."""
    scenario(engine)
    run_range(db_url, "2024-01", "2024-04")
    before = _by(engine, schema.importance_scores)[("P2", D(2024, 2, 1))]
    assert materialize_range(db_url, "monthly_job", "2024-02-01").success  # recomputed "in April"
    after = _by(engine, schema.importance_scores)
    assert after[("P2", D(2024, 2, 1))] == before
    assert before["company_importance"] == 100
    assert after[("P2", D(2024, 3, 1))]["company_importance"] == 100


def _snapshot(engine):
    return {t.name: table_rows(engine, t) for t in OUTPUTS}


def test_backfill_of_a_range_equals_months_one_by_one(db_url, engine):
    scenario(engine)
    run_range(db_url, "2024-01", "2024-05")
    ranged = _snapshot(engine)
    with engine.begin() as conn:
        for t in OUTPUTS:
            conn.execute(t.delete())
    for m in ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05"):
        run_range(db_url, m, m)
    assert _snapshot(engine) == ranged
    assert len(ranged["credit_grades"]) == 8


def test_asset_checks_pass_and_fail(db_url, engine):
    scenario(engine)
    run_range(db_url, "2024-01", "2024-02")
    with engine.begin() as conn:  # corrupt one grade: the band check must go red
        conn.execute(sa.update(schema.credit_grades).where(schema.credit_grades.c.partner_id == "P2").values(grade="F"))
    from migu_assets.assets.credit import grade_matches_score_band
    from migu_assets.resources import PolicyResource, WarehouseResource

    check = grade_matches_score_band(warehouse=WarehouseResource(url=db_url), policy=PolicyResource())
    assert not check.passed
    assert check.metadata["grade_outside_its_band"].value == 1
