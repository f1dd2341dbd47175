"""Finding partners by id (any case, stray spaces) or name (issue 15), and `partners` / `explain` using it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from migu_assets.cli import app
from migu_assets.lookup import PartnerNotFound, find_partners, resolve_partner
from migu_assets.warehouse import schema
from migu_assets.warehouse.engine import engine_for

NAMES = {"P0007": "苏州华音互动娱乐有限公司", "P0008": "苏州星河文化传媒有限公司", "P0012": "北京Ｍｉｇｕ音乐科技有限公司"}


def _partners(engine) -> None:
    with engine.begin() as conn:
        conn.execute(schema.partners.insert(), [
            {"partner_id": pid, "name": name, "parent_company_id": None, "on_network_rights_platform": False,
             "cooperation_start": dt.date(2023, 1, 1)} for pid, name in NAMES.items()])
        conn.execute(schema.credit_grades.insert(), [
            {"partner_id": "P0007", "month": m, "credit_score": Decimal(score), "grade": grade, "measures": "",
             "issued_on": m, "due_on": m, "supersedes_month": None, "clause": "c", "reason": "r"}
            for m, score, grade in ((dt.date(2024, 1, 1), "812.00", "A"), (dt.date(2024, 2, 1), "512.50", "C"))])


def test_resolve_by_id_name_or_unique_fragment(engine):
    _partners(engine)
    with engine.connect() as conn:
        for text in ("P0007", "p0007", " P0007", "P0007 ", "Ｐ０００７", "苏州华音互动娱乐有限公司", "华音"):
            assert resolve_partner(conn, text) == "P0007", text
        assert resolve_partner(conn, "miGu") == "P0012"  # full-width letters in the stored name
        with pytest.raises(PartnerNotFound) as ambiguous:
            resolve_partner(conn, "苏州")
        assert [c.partner_id for c in ambiguous.value.candidates] == ["P0007", "P0008"]
        with pytest.raises(PartnerNotFound) as missing:
            resolve_partner(conn, "P9999")
        assert missing.value.candidates == []


def test_find_partners_with_latest_grade(engine):
    _partners(engine)
    with engine.connect() as conn:
        everyone = find_partners(conn)
        found = find_partners(conn, "华音")
    assert [r.partner_id for r in everyone] == ["P0007", "P0008", "P0012"]
    assert [(r.partner_id, r.latest_month, r.grade) for r in found] == [("P0007", dt.date(2024, 2, 1), "C")]
    assert everyone[1].grade is None and everyone[1].latest_month is None


def _env(tmp_path, url):
    return {"MIGU_HOME": str(tmp_path / "home"), "MIGU_WAREHOUSE_URL": url, "DAGSTER_HOME": str(tmp_path / "dh"),
            "MIGU_DEBUG": None}


def test_partners_and_explain_from_the_command_line(tmp_path):
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = _env(tmp_path, url)
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    assert runner.invoke(app, ["demo", "--months", "1"], env=env).exit_code == 0
    result = runner.invoke(app, ["run", "--from", "2024-01", "--to", "2024-01"], env=env)
    assert result.exit_code == 0, result.output
    with engine_for(url).begin() as conn:
        name = conn.execute(sa.select(schema.partners.c.name).where(schema.partners.c.partner_id == "P0007")).scalar()
        conn.execute(schema.partners.update().where(schema.partners.c.partner_id == "P0007")
                     .values(name=name + "\x1b]0;pwned\x07\x1b[2J"))
    result = runner.invoke(app, ["partners"], env=env)
    assert result.exit_code == 0 and "P0020" in result.output and "2024-01" in result.output
    result = runner.invoke(app, ["partners", name[2:5]], env=env)
    assert result.exit_code == 0 and "P0007" in result.output
    for text in ("p0007", " P0007", name):
        result = runner.invoke(app, ["explain", text, "--month", "2024-01"], env=env)
        assert result.exit_code == 0, (text, result.output)
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert "\\x1b" in result.output and "P0007" in result.output
    result = runner.invoke(app, ["explain", "不存在的公司", "--month", "2024-01"], env=env)
    assert result.exit_code == 1 and "migu-assets partners" in result.output
    result = runner.invoke(app, ["partners", "不存在的公司"], env=env)
    assert result.exit_code == 1
    result = runner.invoke(app, ["report", "--month", "2024-01"], env=env)
    assert result.exit_code == 0, result.output


def test_an_id_pasted_with_an_invisible_character_finds_the_partner():
    """Issue 14: keys are stored without Unicode format characters; a search normalises what staff paste the same way
    (a zero-width space or a direction mark copied along with an id from a chat or a web page)."""
    from migu_assets.lookup import normalise

    assert normalise("P0001\u200b") == normalise("\u200eＰ0001") == normalise("p0001") == "p0001"
