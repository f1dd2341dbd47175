"""Money and scores read as their values in the SQLite warehouse (issue 15), and every sum stays exact."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import sqlalchemy as sa
from alembic import command

from migu_assets.compute.settlement import reconciliation
from migu_assets.warehouse import migrate
from migu_assets.warehouse import schema as s
from migu_assets.warehouse.schema import exact_sum, scaled

JAN = dt.date(2024, 1, 1)


def _credit_row(pid: str, score: str) -> dict:
    return {"partner_id": pid, "month": JAN, "credit_score": Decimal(score), "months_used": 3, "violation_id": None,
            "clause": "第九条", "reason": "r"}


def test_any_sqlite_client_reads_the_value(sqlite_url):
    from migu_assets.warehouse.engine import engine_for

    engine = engine_for(sqlite_url)
    with engine.begin() as conn:
        conn.execute(s.credit_scores.insert(), [_credit_row("P1", "712.50"), _credit_row("P2", "0.29")])
    path = sa.make_url(sqlite_url).database
    with sqlite3.connect(path) as raw:
        values = dict(raw.execute("select partner_id, credit_score from credit_scores").fetchall())
        declared = {r[1]: r[2] for r in raw.execute("pragma table_info(credit_scores)")}
    assert values == {"P1": 712.5, "P2": 0.29}
    assert declared["credit_score"].startswith("NUMERIC")
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.select(s.credit_scores.c.credit_score)).scalars()) == [
            Decimal("0.29"), Decimal("712.50")]


def _items(n: int, fee: str) -> list[dict]:
    return [
        {"item_id": f"I{i}", "partner_id": "P1", "business_id": "B", "month": JAN, "payment_method": "prepaid",
         "channel": "c", "info_fee": Decimal(fee), "share_ratio": Decimal("0.7000"), "deductions": Decimal("0.01")}
        for i in range(n)
    ]


def test_sums_stay_exact_where_a_float_sum_would_not(engine):
    fee = "9999999999.99"
    rows = _items(1200, fee)
    float_total = 0.0
    for r in rows:
        float_total += float(r["info_fee"])
    exact = Decimal(fee) * len(rows)
    assert Decimal(repr(float_total)).quantize(Decimal("0.01")) != exact  # the data would break a float sum
    si = s.settlement_items
    with engine.begin() as conn:
        conn.execute(si.insert(), rows)
        total, deductions = conn.execute(sa.select(exact_sum(si.c.info_fee), exact_sum(si.c.deductions))).one()
        same = conn.execute(
            sa.select(sa.func.count()).where(scaled(si.c.info_fee) - scaled(si.c.deductions) + scaled(si.c.deductions)
                                             != scaled(si.c.info_fee))
        ).scalar_one()
    assert total == exact and deductions == Decimal("12.00") and same == 0


def test_reconciliation_is_exact_with_large_amounts(engine):
    """Settlements summing to the items' total reconcile; one cent off does not (both databases)."""
    fee = Decimal("9999999999.99")
    si, st = s.settlement_items, s.settlements
    n = 600
    with engine.begin() as conn:
        conn.execute(si.insert(), _items(n, str(fee)))
        conn.execute(st.insert(), [
            {"partner_id": f"P{i}", "month": JAN, "gross": fee, "partner_share": Decimal("0"),
             "deductions": Decimal("0.01"), "carried_in": Decimal("0"), "net": Decimal("0"), "payable": Decimal("0"),
             "carried_out": Decimal("0"), "status": "payable", "clause": "c", "reason": "r",
             **dict.fromkeys(("held_in", "withheld", "released", "exit_deducted", "paid", "held_balance"),
                             Decimal("0"))} for i in range(n)])
        assert reconciliation(conn) == []
        conn.execute(st.update().where(st.c.partner_id == "P0").values(gross=fee - Decimal("0.01")))
        assert len(reconciliation(conn)) == 1


def test_upgrade_from_0002_converts_scaled_integers_and_keeps_rows(engine):
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    sqlite = engine.dialect.name == "sqlite"
    # what a 0002 warehouse holds: cents and ratio × 10^4 on SQLite, the value on PostgreSQL
    score = 71250 if sqlite else Decimal("712.50")
    fee, ratio = (12345678901, 7000) if sqlite else (Decimal("123456789.01"), Decimal("0.7000"))
    with engine.begin() as conn:
        assert "demo_marks" not in sa.inspect(conn).get_table_names()
        conn.execute(sa.text(
            "insert into credit_scores (partner_id, month, credit_score, months_used, clause, reason) "
            "values ('P1', :m, :v, 3, 'c', 'r')"), {"m": JAN, "v": score})
        conn.execute(sa.text(
            "insert into settlement_items (item_id, partner_id, business_id, month, payment_method, channel, "
            "info_fee, share_ratio, deductions) values ('I1', 'P1', 'B', :m, 'prepaid', 'c', :f, :r, :d)"),
            {"m": JAN, "f": fee, "r": ratio, "d": 1 if sqlite else Decimal("0.01")})
    assert migrate.current_revision(engine) == "0002"
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.select(s.credit_scores.c.credit_score)).scalar_one() == Decimal("712.50")
        item = conn.execute(sa.select(s.settlement_items)).mappings().one()
        assert (item["info_fee"], item["share_ratio"], item["deductions"]) == (
            Decimal("123456789.01"), Decimal("0.7000"), Decimal("0.01"))
        raw = conn.execute(sa.text("select credit_score from credit_scores")).scalar_one()
        assert Decimal(str(raw)) == Decimal("712.5")
        assert "demo_marks" in sa.inspect(conn).get_table_names()
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("settlement_items")}
    assert {"ix_settlement_items_month", "ix_settlement_items_partner"} <= indexes
