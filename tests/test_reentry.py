"""SPEC v2 §4.3 re-entry after a termination (第十二条, 第十九条, 第二十条) through Dagster, on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import dagster as dg
from dagster_helpers import materialize_range
from factories import contract, insert, partner, table_rows

from migu_assets.compute.partners import ban_breaches
from migu_assets.compute.status import partner_status_rows
from migu_assets.policy import load_policy_book
from migu_assets.warehouse import schema

D = dt.date


def _violation(vid, pid, occurred, listed):
    return {
        "violation_id": vid,
        "partner_id": pid,
        "violation_type": 3,
        "occurred_on": occurred,
        "recorded_at": dt.datetime.combine(occurred, dt.time(9)),
        "description": "违反国家法律法规开展业务",
        "bad_credit_list": listed,
    }




def scenario(engine):
    """P1: violation 2024-01-10 (不良信用名单: no ban here), new contract from 2024-03-01 → scored again from March.
    P2: violation 2024-01-10 (2-year ban to 2026-01-10), new contract from 2024-03-01 → a ban breach."""
    insert(engine, schema.partners, [partner("P1"), partner("P2")])
    insert(
        engine,
        schema.major_violations,
        [_violation("V1", "P1", D(2024, 1, 10), True), _violation("V2", "P2", D(2024, 1, 10), False)],
    )
    insert(
        engine,
        schema.contracts,
        [
            contract("C1", "P1", D(2023, 1, 1), D(2024, 12, 31)),
            contract("C1b", "P1", D(2024, 3, 1), D(2025, 2, 28)),
            contract("C2", "P2", D(2023, 1, 1), D(2024, 12, 31)),
            contract("C2b", "P2", D(2024, 3, 1), D(2025, 2, 28)),
        ],
    )


def test_第二十条_reentry_scores_again_from_the_new_contract_with_a_fresh_history(db_url, engine):
    scenario(engine)
    assert materialize_range(db_url, "daily_job", "2023-12-01", "2024-04-30").success
    assert materialize_range(db_url, "monthly_job", "2023-12-01", "2024-04-01").success
    credit = {(r["partner_id"], r["month"]): r for r in table_rows(engine, schema.credit_scores)}
    assert credit[("P1", D(2024, 1, 1))]["credit_score"] == Decimal("0.00")  # 违规扣分
    assert ("P1", D(2024, 2, 1)) not in credit  # terminated, not scored
    mar = credit[("P1", D(2024, 3, 1))]
    # fresh history: only March counts (not January's 0 nor December's 800)
    assert (mar["credit_score"], mar["months_used"]) == (Decimal("800.00"), 1)
    apr = credit[("P1", D(2024, 4, 1))]
    assert (apr["credit_score"], apr["months_used"]) == (Decimal("800.00"), 2)
    grades = {(r["partner_id"], r["month"]): r for r in table_rows(engine, schema.credit_grades)}
    assert grades[("P1", D(2024, 3, 1))]["grade"] == "A"
    assert grades[("P1", D(2024, 3, 1))]["supersedes_month"] is None
    # P2 re-entered inside its ban: still scored (the facts say it cooperates), and the ERROR check names it
    assert ("P2", D(2024, 3, 1)) in credit


def test_第十九条_contract_inside_a_ban_fails_the_error_check(db_url, engine):
    from migu_assets.assets.renewal import no_contract_inside_a_reentry_ban
    from migu_assets.resources import PolicyResource, WarehouseResource

    scenario(engine)
    with engine.connect() as conn:
        breaches = ban_breaches(conn, load_policy_book())
    assert [(b.partner_id, b.contract_id, b.banned_until) for b in breaches] == [("P2", "C2b", D(2026, 1, 10))]
    assert "C2b" in breaches[0].text and "V2" in breaches[0].text
    check = no_contract_inside_a_reentry_ban(warehouse=WarehouseResource(url=db_url), policy=PolicyResource())
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "C2b" in check.metadata["text"].value
    with engine.connect() as conn:
        status = {r["partner_id"]: r for r in partner_status_rows(conn, D(2024, 4, 1))}
    assert "C2b" in status["P2"]["ban_breach"] and "违反禁入期" in status["P2"]["reason"]
    assert status["P1"]["ban_breach"] is None


def test_第十九条_contract_on_the_day_after_the_ban_is_no_breach(db_url, engine):
    scenario(engine)
    with engine.begin() as conn:
        conn.execute(
            schema.contracts.update().where(schema.contracts.c.contract_id == "C2b").values(start_date=D(2026, 1, 11))
        )
    with engine.connect() as conn:
        assert ban_breaches(conn, load_policy_book()) == []
    with engine.begin() as conn:
        conn.execute(
            schema.contracts.update().where(schema.contracts.c.contract_id == "C2b").values(start_date=D(2026, 1, 10))
        )
    with engine.connect() as conn:
        assert [b.contract_id for b in ban_breaches(conn, load_policy_book())] == ["C2b"]


def test_第十七条_breach_fails_the_check_in_the_run_that_writes_the_ban(db_url, engine):
    """One run computes the whole chain for January–February 2024 from empty output tables. February reviews C1
    (ends 2024-03-31, rights not delivered → 第十七条, banned through 2025-03-31); P1's next contract C1b starts
    2024-04-01, inside that ban. The check reads the bans of renewal_decisions, so it must run after that asset
    within the run: it fails in this same run. P2's C2 is renewed and its follow-up C2b is no breach."""
    insert(engine, schema.partners, [partner("P1"), partner("P2")])
    insert(
        engine,
        schema.contracts,
        [
            contract("C1", "P1", D(2023, 1, 1), D(2024, 3, 31), rights_delivered=False),
            contract("C1b", "P1", D(2024, 4, 1), D(2025, 3, 31)),
            contract("C2", "P2", D(2023, 1, 1), D(2024, 3, 31)),
            contract("C2b", "P2", D(2024, 4, 1), D(2025, 3, 31)),
        ],
    )
    assert table_rows(engine, schema.renewal_decisions) == []
    assert materialize_range(db_url, "daily_job", "2024-01-01", "2024-02-29").success
    result = materialize_range(db_url, "monthly_job", "2024-01-01", "2024-02-01")
    assert result.success  # an ERROR check that fails does not fail the run; it is reported
    decisions = {r["contract_id"]: r for r in table_rows(engine, schema.renewal_decisions)}
    assert (decisions["C1"]["clause"], decisions["C1"]["reentry_banned_until"]) == ("第十七条", D(2025, 3, 31))
    assert decisions["C2"]["decision"] == "renew"

    evaluations = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "no_contract_inside_a_reentry_ban"
    ]
    assert [e.asset_key for e in evaluations] == [dg.AssetKey("renewal_decisions")]
    check = evaluations[0]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["breaches"].value == 1
    assert [c["contract_id"] for c in check.metadata["contracts"].value] == ["C1b"]
    assert "C1b" in check.metadata["text"].value and "合同C1的续约决定" in check.metadata["text"].value
    # evaluated after renewal_decisions was written in this run (not before it, as when it sat upstream)
    events = result.all_events
    wrote = next(
        i for i, e in enumerate(events)
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == dg.AssetKey("renewal_decisions")
    )
    checked = next(
        i for i, e in enumerate(events)
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == "no_contract_inside_a_reentry_ban"
    )
    assert wrote < checked


def test_the_ban_check_is_on_renewal_decisions():
    from migu_assets.definitions import defs

    keys = defs.resolve_asset_graph().asset_check_keys
    assert dg.AssetCheckKey(dg.AssetKey("renewal_decisions"), "no_contract_inside_a_reentry_ban") in keys
    assert dg.AssetCheckKey(dg.AssetKey("monthly_credit_scores"), "no_contract_inside_a_reentry_ban") not in keys
