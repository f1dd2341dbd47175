"""The demo marks what it wrote, so replacing demo data never deletes anything else (issue 15), on both DBs."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from migu_assets.demo import ForeignRows, foreign_rows, generate_demo
from migu_assets.warehouse.schema import SOURCE_TABLES, credit_issue_dates, demo_marks, partners


def _quiet(_line: str) -> None:
    pass


def test_only_the_demos_own_rows_count_as_demo_data(engine):
    generate_demo(engine, months=1, progress=_quiet)
    with engine.connect() as conn:
        assert foreign_rows(conn) == {}
        assert conn.execute(sa.select(sa.func.count()).select_from(demo_marks)).scalar_one() == len(SOURCE_TABLES)
    # same number of rows, but one of them is not the demo's: still foreign
    with engine.begin() as conn:
        conn.execute(partners.delete().where(partners.c.partner_id == "P0020"))
        conn.execute(partners.insert(), [{"partner_id": "R-1", "name": "真实合作方", "parent_company_id": None,
                                          "on_network_rights_platform": False,
                                          "cooperation_start": dt.date(2023, 1, 1)}])
    with engine.connect() as conn:
        assert foreign_rows(conn) == {"partners": 20}
    with pytest.raises(ForeignRows):
        generate_demo(engine, months=1, replace=True, progress=_quiet)
    with engine.connect() as conn:
        assert conn.execute(sa.select(partners.c.name).where(partners.c.partner_id == "R-1")).scalar_one() == "真实合作方"
    generate_demo(engine, months=1, replace=True, force=True, progress=_quiet)
    with engine.connect() as conn:
        assert foreign_rows(conn) == {}


def test_a_warehouse_the_demo_never_touched_is_all_foreign(engine):
    with engine.begin() as conn:
        conn.execute(credit_issue_dates.insert(), [{"month": dt.date(2024, 1, 1), "issued_on": dt.date(2024, 2, 7)}])
        assert foreign_rows(conn) == {"credit_issue_dates": 1}
