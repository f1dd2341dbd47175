"""Materialising daily_complaint_counts → warning_tiers → health_scores through Dagster (SPEC §2–§4.1),
on SQLite and PostgreSQL, and re-running a month gives identical rows (SPEC §9)."""

import datetime as dt
from decimal import Decimal

from dagster_helpers import materialize_range
from factories import complaints_on, insert, partner, table_rows, ticket

from migu_assets.warehouse import schema

D = dt.date


def _scenario(engine):
    insert(engine, schema.partners, [partner("P1"), partner("P2"), partner("P3", start=D(2024, 2, 1))])
    rows = []
    # P1: Jan 3 → 9 complaints (1 notification), Jan 10 → 10 (2), Jan 31 → 10 (2): 5 notifications → 一级 on Jan 31.
    rows += complaints_on("P1", D(2024, 1, 3), 9) + complaints_on("P1", D(2024, 1, 10), 10)
    rows += complaints_on("P1", D(2024, 1, 31), 10, hour=23)
    # P1 'other' tickets do not count as complaints but do count for the timely rate.
    rows += [ticket("P1", dt.datetime(2024, 1, 5, 9), category="other")]
    # P2: 4 complaints on a day → no notification; 1 of its 20 due tickets late → 95% exactly, no deduction.
    rows += complaints_on("P2", D(2024, 1, 4), 4)
    rows += [ticket("P2", dt.datetime(2024, 1, 6, 9, i), category="other") for i in range(15)]
    rows += [ticket("P2", dt.datetime(2024, 1, 7, 9), category="other", handled=False)]
    # A ticket created Feb 1 00:00 local belongs to February.
    rows += complaints_on("P1", D(2024, 2, 1), 5, hour=0)
    insert(engine, schema.complaint_tickets, rows)


def test_one_month_chain(db_url, engine):
    _scenario(engine)
    assert materialize_range(db_url, "daily_job", "2024-01-01", "2024-01-31").success
    assert materialize_range(db_url, "monthly_job", "2024-01-01").success

    daily = table_rows(engine, schema.daily_complaint_counts, ["day", "partner_id"])
    assert [(r["partner_id"], r["day"], r["complaints"], r["notifications"]) for r in daily] == [
        ("P1", D(2024, 1, 3), 9, 1),
        ("P2", D(2024, 1, 4), 4, 0),
        ("P1", D(2024, 1, 10), 10, 2),
        ("P1", D(2024, 1, 31), 10, 2),
    ]
    tiers = table_rows(engine, schema.warning_tiers)
    assert [(r["partner_id"], r["tier"], r["trigger_date"], r["monthly_notifications"]) for r in tiers] == [
        ("P1", 1, D(2024, 1, 31), 5)
    ]
    assert tiers[0]["promotion_suspended_until"] == D(2024, 2, 7)
    assert tiers[0]["code_suspended_until"] == D(2024, 2, 29)

    health = {r["partner_id"]: r for r in table_rows(engine, schema.health_scores)}
    assert set(health) == {"P1", "P2"}  # P3 starts in February
    assert health["P1"]["health"] == 0  # 5 notifications × 25 → floored at 0
    assert health["P2"]["health"] == 100
    assert health["P2"]["timely_rate"] == Decimal("0.950000")  # 19/20 due in January handled on time
    assert health["P1"]["clause"] == "附件5/健康度"


def test_rerunning_a_month_gives_identical_rows(db_url, engine):
    _scenario(engine)
    for _ in range(2):
        assert materialize_range(db_url, "daily_job", "2024-01-01", "2024-01-31").success
        assert materialize_range(db_url, "monthly_job", "2024-01-01").success
        snapshot = [
            table_rows(engine, t) for t in (schema.daily_complaint_counts, schema.warning_tiers, schema.health_scores)
        ]
        if _ == 0:
            first = snapshot
    assert snapshot == first
    assert len(first[2]) == 2


def test_asset_selection_runs_only_the_selected_asset(db_url, engine):
    import dagster as dg

    _scenario(engine)
    assert materialize_range(db_url, "daily_job", "2024-01-01", "2024-01-31").success
    result = materialize_range(db_url, "monthly_job", "2024-01-01", asset_selection=[dg.AssetKey("warning_tiers")])
    assert result.success
    assert len(table_rows(engine, schema.warning_tiers)) == 1
    assert table_rows(engine, schema.health_scores) == []


def test_health_check_goes_red_when_a_scored_partner_has_no_row(sqlite_url):
    from migu_assets.assets.complaints import health_scores_valid
    from migu_assets.resources import WarehouseResource
    from migu_assets.warehouse.engine import engine_for

    engine = engine_for(sqlite_url)
    _scenario(engine)
    assert materialize_range(sqlite_url, "daily_job", "2024-01-01", "2024-01-31").success
    assert materialize_range(sqlite_url, "monthly_job", "2024-01-01").success
    assert health_scores_valid(warehouse=WarehouseResource(url=sqlite_url)).passed
    with engine.begin() as conn:
        conn.execute(schema.health_scores.delete().where(schema.health_scores.c.partner_id == "P2"))
    check = health_scores_valid(warehouse=WarehouseResource(url=sqlite_url))
    assert not check.passed
    assert check.metadata["months_missing_partners"].value == {"2024-01-01": ["P2"]}
