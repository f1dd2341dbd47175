"""What-if runs (issue 11): the chain under a draft policy in a scenario store, compared with the published results.

The published tables must come out byte-identical (every row of every table compared before/after), a draft with
other grade bands, weights and held grades must change grades, scores and withheld money visibly, a broken draft
must be refused naming its key, and the Dagster job must run from run config carrying its tags.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import dagster as dg
import openpyxl
import pytest
import sqlalchemy as sa
import yaml
from dagster_helpers import resources_for
from typer.testing import CliRunner

from migu_assets.cli import app
from migu_assets.definitions import build_definitions
from migu_assets.demo import generate_demo
from migu_assets.policy import POLICY_DIR, PolicyBook, load_policy_book
from migu_assets.runner import run_months
from migu_assets.warehouse import schema
from migu_assets.warehouse.engine import engine_for
from migu_assets.whatif import WhatIfError, WhatIfRequest, check_request, run_whatif, store
from migu_assets.whatif.draft import draft_book, load_draft
from migu_assets.whatif.job import JOB_NAME, OP_NAME

SHIPPED = sorted(POLICY_DIR.glob("*.yaml"))[-1]
JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)


def _shipped() -> dict:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def write_draft(path: Path, edit=None) -> Path:
    raw = _shipped()
    if edit:
        edit(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def stricter(raw: dict) -> None:
    """v2.2 draft: A from 900 and B from 700 (was 800/600), health weighs more, C is held too."""
    raw["version"] = "v2.2-草案"
    raw["effective_from"] = "2027-01-01"  # dated in the future: the what-if still applies it to the range
    bands = {g["grade"]: g for g in raw["credit"]["grades"]}
    bands["A"]["min"], bands["B"]["min"] = 900, 700
    raw["credit"]["health_weight"] = 8
    raw["settlement"]["held_grades"] = ["C", "D", "E", "F", "TERMINATED"]


def published(db_url: str, months: int = 3) -> None:
    """Demo sources and the published chain for 2024-01 .. 2024-0<months>."""
    generate_demo(engine_for(db_url), partners=12, months=months, seed=11)
    last = dt.date(2024, months, 1)
    defs = build_definitions(resources_for(db_url))
    run_months(JAN, last, defs=defs, instance=dg.DagsterInstance.ephemeral(), progress=lambda _: None)


def snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table of the store as the database driver returns it (raw values, no type mapping)."""
    with engine_for(url).connect() as conn:
        return {
            name: sorted(repr(tuple(row)) for row in conn.exec_driver_sql(f'SELECT * FROM "{name}"'))
            for name in sa.inspect(conn).get_table_names()
        }


def _rows(url: str, table: sa.Table, *where) -> list[dict]:
    with engine_for(url).connect() as conn:
        query = sa.select(table).where(*where).order_by(*table.primary_key.columns)
        return [dict(r) for r in conn.execute(query).mappings()]


# ------------------------------------------------------------------------------------------------ the draft


def test_draft_replaces_every_version_of_the_range_and_keeps_the_earlier_ones(tmp_path):
    shipped = load_policy_book()
    base = shipped.latest
    april = base.model_copy(update={"effective_from": dt.date(2024, 4, 1), "version": "v2.1-四月"})
    book = PolicyBook([base, april])
    draft = load_draft(write_draft(tmp_path / "d.yaml", stricter))
    assert draft.effective_from == dt.date(2027, 1, 1)
    mixed = draft_book(book, draft, FEB)
    assert mixed.for_month(JAN).version == base.version  # before the range: published
    assert mixed.for_month(FEB).version == "v2.2-草案"
    assert mixed.for_month(dt.date(2024, 5, 1)).version == "v2.2-草案"  # the published April version is replaced
    assert [g.min for g in mixed.for_month(MAR).credit.grades][:2] == [Decimal(900), Decimal(700)]
    copied = draft_book(book, load_draft(SHIPPED), FEB)  # a copy of the shipped file, version not changed
    assert copied.for_month(FEB).version == f"{base.version}+草案"


def test_a_broken_draft_is_refused_naming_the_key(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("MIGU_WAREHOUSE_URL", sqlite_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))

    def misspelt(raw):
        raw["credit"]["health_weigth"] = raw["credit"].pop("health_weight")

    def not_a_number(raw):
        raw["credit"]["grades"][1]["min"] = "六百"

    runner = CliRunner()
    for edit, problem in [
        (misspelt, "键 credit.health_weigth：不认识的键"),
        (misspelt, "键 credit.health_weight：缺少此键"),
        (not_a_number, "键 credit.grades.1.min：应为数字"),
    ]:
        draft = write_draft(tmp_path / "bad.yaml", edit)
        result = runner.invoke(app, ["whatif", "--policy", str(draft), "--from", "2024-01", "--to", "2024-02"])
        assert result.exit_code == 1, result.output
        assert "草案政策文件" in result.output and "无效，未做任何计算" in result.output
        assert problem in result.output
    assert not (tmp_path / "migu_home" / "scenarios").exists()  # refused before anything was built
    result = runner.invoke(
        app, ["whatif", "--policy", str(tmp_path / "nope.yaml"), "--from", "2024-01", "--to", "2024-01"]
    )
    assert result.exit_code == 1 and "文件不存在" in result.output


def test_months_without_published_results_are_refused(tmp_path, sqlite_url):
    draft = write_draft(tmp_path / "d.yaml", stricter)
    with pytest.raises(WhatIfError, match="没有已发布的信用评级.*2024-01"):
        check_request(WhatIfRequest(draft, JAN, FEB), sqlite_url)
    with pytest.raises(WhatIfError, match="尚未结束"):
        check_request(WhatIfRequest(draft, JAN, FEB), sqlite_url, today=dt.date(2024, 2, 20))
    with pytest.raises(WhatIfError, match="早于开始月份"):
        check_request(WhatIfRequest(draft, FEB, JAN), sqlite_url)


# ------------------------------------------------------------------------------------- the whole what-if run


def test_whatif_on_both_databases_changes_grades_and_leaves_the_published_tables_identical(db_url, tmp_path):
    published(db_url)
    before = snapshot(db_url)
    draft = write_draft(tmp_path / "v2_2.yaml", stricter)
    outcome = run_whatif(WhatIfRequest(draft, FEB, MAR, out=tmp_path / "cmp.xlsx"), db_url, progress=lambda _: None)
    assert snapshot(db_url) == before, "the published tables changed"

    # the scenario store is elsewhere: a file under $MIGU_HOME/scenarios, or the schema whatif_v2_2
    store_url = engine_for(db_url).url
    if store_url.get_backend_name() == "sqlite":
        assert outcome.store == str(tmp_path / "migu_home" / "scenarios" / "v2_2.db")
        scenario = f"sqlite:///{outcome.store}"
    else:
        assert outcome.store.startswith("PostgreSQL schema whatif_v2_2")
        scenario = store_url.update_query_dict({"options": "-csearch_path=whatif_v2_2"}).render_as_string(False)
        with engine_for(scenario).connect() as conn:
            assert conn.exec_driver_sql("SELECT current_schema()").scalar() == "whatif_v2_2"
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1

    # January is history: copied as published; February and March are the draft's, with its bands
    grades = schema.credit_grades
    assert _rows(scenario, grades, grades.c.month == JAN) == _rows(db_url, grades, grades.c.month == JAN)
    drafted = _rows(scenario, grades, grades.c.month >= FEB)
    assert {r["month"] for r in drafted} == {FEB, MAR}
    for r in drafted:
        if r["grade"] not in ("TERMINATED",):
            expected = next(
                g
                for g, low in [("A", 900), ("B", 700), ("C", 450), ("D", 300), ("E", 150), ("F", 0)]
                if r["credit_score"] >= low
            )
            assert r["grade"] == expected, r
    assert not _rows(scenario, schema.partner_status)  # only the chain is computed, nothing else copied
    published_version = load_policy_book().for_month(JAN).version
    assert {r["policy_version"] for r in drafted} == {"v2.2-草案"}  # provenance: the draft's rows say so
    assert {r["policy_version"] for r in _rows(scenario, grades, grades.c.month == JAN)} == {published_version}

    # visible in the comparison: grades, scores (health weight 8) and withheld money (C held) change
    assert outcome.changed > 0 and outcome.grades_published.get("A", 0) > outcome.grades_draft.get("A", 0)
    wb = openpyxl.load_workbook(outcome.workbook)
    assert wb.sheetnames == ["说明", "对比明细", "评级分布"]
    detail = list(wb["对比明细"].iter_rows(values_only=True))
    header, body = detail[0], [r for r in detail[1:] if r[0] in ("是", "否")]
    assert header[:5] == ("是否变化", "变化项", "合作方编号", "合作方名称", "月份")
    flags = [r[0] for r in body]
    assert flags == sorted(flags, key=lambda f: f != "是") and flags[0] == "是"  # changed rows first
    assert len(body) == outcome.rows and flags.count("是") == outcome.changed
    changes = " ".join(r[1] or "" for r in body)
    assert "评级" in changes and "信用积分" in changes and "暂停/停止支付金额" in changes
    col = {h: i for i, h in enumerate(header)}
    moved = [r for r in body if r[col["评级（现行）"]] == "A" and r[col["评级（草案）"]] == "B"]
    assert moved, "a partner between 800 and 900 drops from A to B"
    grade_sheet = list(wb["评级分布"].iter_rows(values_only=True))
    assert grade_sheet[0] == ("月份", "评级", "现行政策", "草案", "增减")
    totals = {r[1]: r[2:] for r in grade_sheet if r[0] == "全部月份"}
    assert totals["A"][1] < totals["A"][0]
    summary = "\n".join(outcome.summary)
    assert "有变化" in summary and "评级分布" in summary and str(outcome.workbook) in summary

    # the same scenario again with the published policy as the "draft": the store is rebuilt, nothing differs
    same = run_whatif(WhatIfRequest(SHIPPED, FEB, MAR, name="v2_2"), db_url, progress=lambda _: None)
    assert same.changed == 0 and same.rows == outcome.rows
    assert same.draft_version == f"{published_version}+草案"
    assert same.grades_published == same.grades_draft == outcome.grades_published
    assert snapshot(db_url) == before


def test_cli_and_the_dagster_job_with_run_config_and_tags(tmp_path, sqlite_url, monkeypatch):
    published(sqlite_url, months=2)
    before = snapshot(sqlite_url)
    draft = write_draft(tmp_path / "Draft v2.2.yaml", stricter)

    with dg.instance_for_test() as instance:
        defs = build_definitions(resources_for(sqlite_url))
        result = defs.resolve_job_def(JOB_NAME).execute_in_process(
            instance=instance,
            run_config={
                "ops": {OP_NAME: {"config": {"policy": str(draft), "from_month": "2024-02", "to_month": "2024-02"}}}
            },
        )
        assert result.success
        tags = instance.get_run_by_id(result.run_id).tags
        assert tags["migu/kind"] == "whatif"
        assert tags["migu/scenario"] == "draft_v2_2" and tags["migu/draft_version"] == "v2.2-草案"
        assert tags["migu/months"] == "2024-02..2024-02"
        outcome = result.output_for_node(OP_NAME)
        assert outcome.changed > 0 and outcome.workbook == tmp_path / "migu_home" / "scenarios" / "draft_v2_2.xlsx"
        assert outcome.workbook.exists()
        # the scenario's materialisations are not the published assets' history
        assert instance.get_latest_materialization_event(dg.AssetKey("credit_grades")) is None
        [mat] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
        assert mat.event_specific_data.metadata["changed_rows"].value == outcome.changed
    assert snapshot(sqlite_url) == before

    monkeypatch.setenv("MIGU_WAREHOUSE_URL", sqlite_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    out = tmp_path / "对比.xlsx"
    args = ["whatif", "--policy", str(draft), "--from", "2024-01", "--to", "2024-02", "--out", str(out), "--name", "x"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "情景 x：草案 v2.2-草案 替代 2024-01..2024-02" in result.output
    assert "评级分布（2 个月合计）" in result.output and f"对比工作簿：{out}" in result.output
    assert "标签 migu/scenario=x" in result.output and out.exists()
    assert snapshot(sqlite_url) == before
    help_text = CliRunner().invoke(app, ["whatif", "--help"]).output
    assert "草案" in help_text and "effective_from" in help_text


def test_one_run_per_scenario_name_at_a_time(db_url):
    with store.scenario_lock(db_url, "busy"):
        with (
            pytest.raises(store.StoreError, match="情景 busy 正在被另一次试算使用"),
            store.scenario_lock(db_url, "busy"),
        ):
            pass
        with store.scenario_lock(db_url, "other"):  # another name is free
            pass
    with store.scenario_lock(db_url, "busy"):  # released
        pass
