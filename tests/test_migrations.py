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
