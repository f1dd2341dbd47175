"""The schema comes from Alembic migrations and matches the table definitions (issue 2, item 2)."""

import sqlalchemy as sa

from migu_assets.warehouse import migrate
from migu_assets.warehouse.schema import OUTPUT_TABLES, SOURCE_TABLES


def test_init_creates_every_contract_table(engine):
    names = set(sa.inspect(engine).get_table_names())
    assert set(SOURCE_TABLES) <= names
    assert set(OUTPUT_TABLES) <= names
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_upgrade_twice_is_harmless(engine):
    assert migrate.upgrade(engine) == migrate.head_revision()


def test_money_columns_are_exact_decimals(engine):
    from decimal import Decimal

    from migu_assets.warehouse.schema import partner_monthly_business as pmb

    with engine.begin() as conn:
        conn.execute(
            pmb.insert(),
            [
                {
                    "partner_id": "P1",
                    "month": __import__("datetime").date(2024, 1, 1),
                    "info_fee_revenue": Decimal("12345678901.23"),
                    "migu_purchases": Decimal("0.10"),
                    "migu_ad_spend": Decimal("0.20"),
                }
            ],
        )
        total = conn.execute(
            sa.select(sa.func.sum(pmb.c.migu_purchases + pmb.c.migu_ad_spend, type_=pmb.c.migu_purchases.type))
        ).scalar_one()
        big = conn.execute(sa.select(pmb.c.info_fee_revenue)).scalar_one()
    assert big == Decimal("12345678901.23")
    assert total == Decimal("0.30")


def test_bare_postgresql_url_uses_the_installed_driver():
    from migu_assets.warehouse.engine import normalise_url

    assert normalise_url("postgresql://postgres@127.0.0.1:5432/test") == (
        "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
    )
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_upgrade_from_the_first_revision_keeps_rows_and_adds_the_covering_index(engine):
    import datetime as dt

    from alembic import command

    from migu_assets.warehouse.schema import complaint_tickets

    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.execute(complaint_tickets.insert(), [{
            "ticket_id": "T1", "partner_id": "P1", "business_id": None, "province": None, "category": "other",
            "created_at": dt.datetime(2024, 1, 1, 9), "due_at": dt.datetime(2024, 1, 3, 9), "handled_at": None}])
    assert migrate.current_revision(engine) == "0001"
    migrate.upgrade(engine)
    indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("complaint_tickets")}
    assert "ix_complaint_tickets_due_handled" in indexes and "ix_complaint_tickets_due" not in indexes
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(complaint_tickets)).scalar_one() == 1


def test_upgrade_from_0002_adds_provenance_and_keeps_output_rows(engine):
    """Migration 0102 (issue 11): an existing warehouse gains policy_version / run_id on every output table in
    place; rows computed before keep their values and show NULL provenance until recomputed."""
    import datetime as dt
    from decimal import Decimal

    from alembic import command

    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert "run_id" not in {c["name"] for c in sa.inspect(engine).get_columns("credit_scores")}
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO credit_scores (partner_id, month, credit_score, months_used, violation_id, clause, reason) "
            "VALUES ('P1', '2024-01-01', 71250, 1, NULL, '第十一条', '旧行')" if engine.dialect.name == "sqlite" else
            "INSERT INTO credit_scores (partner_id, month, credit_score, months_used, violation_id, clause, reason) "
            "VALUES ('P1', '2024-01-01', 712.50, 1, NULL, '第十一条', '旧行')"))
    migrate.upgrade(engine)
    stamped = [name for name, table in OUTPUT_TABLES.items() if name != "notifications"]  # a delivery log
    for name in stamped:
        columns = {c["name"] for c in sa.inspect(engine).get_columns(name)}
        assert {"policy_version", "run_id"} <= columns, name
        assert {"policy_version", "run_id"} <= set(OUTPUT_TABLES[name].c.keys()), name
    from migu_assets.warehouse.schema import credit_scores

    with engine.connect() as conn:
        row = conn.execute(sa.select(credit_scores)).mappings().one()
    assert (row["month"], row["credit_score"], row["reason"]) == (dt.date(2024, 1, 1), Decimal("712.50"), "旧行")
    assert row["policy_version"] is None and row["run_id"] is None


def test_upgrade_to_0108_keys_daily_counts_by_day_and_keeps_rows(engine):
    """Migration 0108 (issue 14): daily_complaint_counts keyed by (day, partner_id), the separate day index gone —
    one index for a year's 1.2 M rows to maintain instead of two; rows written before are kept, also after a
    downgrade and a second upgrade."""
    import datetime as dt

    from alembic import command

    from migu_assets.warehouse.schema import daily_complaint_counts as daily

    def shape() -> tuple[list[str], set[str]]:
        inspector = sa.inspect(engine)
        key = inspector.get_pk_constraint("daily_complaint_counts")["constrained_columns"]
        return key, {ix["name"] for ix in inspector.get_indexes("daily_complaint_counts")}

    assert shape() == (["day", "partner_id"], set())
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0105")
    assert shape() == (["partner_id", "day"], {"ix_daily_complaint_counts_day"})
    rows = [{"partner_id": p, "day": dt.date(2024, 1, d), "complaints": 5 * d, "notifications": d,
             "policy_version": "v2.1", "run_id": "r0"} for p in ("P2", "P1") for d in (2, 1)]
    with engine.begin() as conn:
        conn.execute(daily.insert(), rows)
    assert migrate.upgrade(engine) == migrate.head_revision()
    assert shape() == (["day", "partner_id"], set())
    with engine.connect() as conn:
        kept = [dict(r) for r in conn.execute(sa.select(daily).order_by(daily.c.partner_id, daily.c.day)).mappings()]
    assert kept == sorted(rows, key=lambda r: (r["partner_id"], r["day"]))
    with engine.begin() as conn, __import__("pytest").raises(sa.exc.IntegrityError):
        conn.execute(daily.insert(), [rows[0]])  # still one row per partner and day
