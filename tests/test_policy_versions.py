"""第八条 "以上通报规则及处罚标准，可通过公告发布调整修改" end to end (issue 11, SPEC §10): with a second policy
version in force from 2024-04-01 (other thresholds, weights, bands and response days), March is computed, checked,
explained and reported with v2.1's numbers and April with the new version's, and every row says which it used.

Hand-computed with tests/policies/two_versions/2024-04-01.yaml (v2.2-test): notification threshold/step 3, tier 1
from 2 notifications, 30 points per notification, monthly score = 0 + 8 × health + 1 × importance, weights
(0.6, 0.4), bands A ≥ 850, B ≥ 700, C ≥ 500, response within 3 working days.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from factories import complaints_on, insert, partner, table_rows
from openpyxl import load_workbook
from typer.testing import CliRunner

from migu_assets.assets import factory
from migu_assets.assets.credit import CREDIT_GRADES
from migu_assets.cli import app
from migu_assets.definitions import build_definitions
from migu_assets.explain import explain
from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from migu_assets.policy import PolicyBook, load_policy_book
from migu_assets.report import build_report
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.warehouse import schema

D = dt.date
POLICIES = Path(__file__).parent / "policies" / "two_versions"


def _run(db_url: str, job: str, first: str, last: str) -> dg.ExecuteInProcessResult:
    defs = build_definitions(
        {"warehouse": WarehouseResource(url=db_url), "policy": PolicyResource(directory=str(POLICIES))}
    )
    return defs.resolve_job_def(job).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), tags={RANGE_START_TAG: first, RANGE_END_TAG: last}
    )


@pytest.fixture
def computed(db_url, engine):
    insert(engine, schema.partners, [partner("P1", D(2024, 2, 1)), partner("P2", D(2024, 2, 1))])
    insert(
        engine,
        schema.complaint_tickets,
        complaints_on("P1", D(2024, 3, 5), 4)  # v2.1: 4 < 5 → no notification
        + complaints_on("P1", D(2024, 4, 5), 4)  # v2.2-test: 4 ≥ 3 → 1 notification
        + complaints_on("P1", D(2024, 4, 10), 2)  # v2.2-test: 2 < 3 → none
        + complaints_on("P2", D(2024, 3, 8), 6)  # v2.1: 1 notification, no tier (一级 from 5)
        + complaints_on("P2", D(2024, 4, 8), 6),  # v2.2-test: 2 notifications → 一级预警 (from 2)
    )
    daily = _run(db_url, "daily_job", "2024-02-01", "2024-04-30")
    monthly = _run(db_url, "monthly_job", "2024-02-01", "2024-04-01")
    assert daily.success and monthly.success
    return {"url": db_url, "engine": engine, "run": monthly}


def _by(engine, table) -> dict:
    return {(r["partner_id"], r["month"]): r for r in table_rows(engine, table, with_run_id=True)}


def test_第八条_each_month_is_computed_with_the_version_in_force(computed):
    engine = computed["engine"]
    counts = {(r["partner_id"], r["day"]): r for r in table_rows(engine, schema.daily_complaint_counts)}
    assert counts[("P1", D(2024, 3, 5))]["notifications"] == 0  # 4 complaints, threshold 5
    assert counts[("P1", D(2024, 4, 5))]["notifications"] == 1  # 4 complaints, threshold 3
    assert counts[("P2", D(2024, 4, 8))]["notifications"] == 2  # 6 // 3
    tiers = table_rows(engine, schema.warning_tiers)
    assert [(t["partner_id"], t["month"], t["tier"]) for t in tiers] == [("P2", D(2024, 4, 1), 1)]

    monthly = _by(engine, schema.monthly_credit_scores)
    assert monthly[("P1", D(2024, 3, 1))]["monthly_score"] == Decimal("800.00")  # 100 + 7×100
    assert monthly[("P1", D(2024, 4, 1))]["monthly_score"] == Decimal("560.00")  # 0 + 8×(100 − 30)
    grades = _by(engine, schema.credit_grades)
    march, april = grades[("P1", D(2024, 3, 1))], grades[("P1", D(2024, 4, 1))]
    assert (march["credit_score"], march["grade"]) == (Decimal("800.00"), "A")  # v2.1: A from 800
    assert (april["credit_score"], april["grade"]) == (Decimal("656.00"), "C")  # 0.6×560 + 0.4×800; B under v2.1
    # issued on the 5th working day of May 2024 (05-10, after the 劳动节 break); 3 working days: 05-11 is a 调休
    # working Saturday, then 05-13 and 05-14 (v2.1's 5 days would give 05-16).
    assert (april["issued_on"], april["due_on"]) == (D(2024, 5, 10), D(2024, 5, 14))
    assert "须于3个工作日内" in april["reason"]


def test_provenance_every_row_names_its_policy_version_and_run(computed):
    engine, run_id = computed["engine"], computed["run"].run_id
    for table in (schema.warning_tiers, schema.health_scores, schema.credit_scores, schema.credit_grades):
        for row in table_rows(engine, table, with_run_id=True):
            expected = "2.2-test" if row["month"] >= D(2024, 4, 1) else "2.1"
            assert (row["policy_version"], row["run_id"]) == (expected, run_id), (table.name, row)
    days = table_rows(engine, schema.daily_complaint_counts, with_run_id=True)
    assert {(r["day"].month, r["policy_version"]) for r in days} == {(3, "2.1"), (4, "2.2-test")}


def test_checks_judge_each_month_by_its_own_version(computed):
    evaluations = computed["run"].get_asset_check_evaluations()
    errors = [e for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR]  # (the calendar horizon WARNs)
    assert errors and all(e.passed for e in errors), [e.check_name for e in errors if not e.passed]
    # The band check is not vacuous: judged by the April version alone, the four v2.1 rows are outside their bands
    # (P1 and P2 in February: 800 A; P1 in March: 800 A; P2 in March: (0.5×625 + 0.3×800)/0.8 = 690.63 B).
    april_only = load_policy_book(POLICIES).versions[-1].model_copy(update={"effective_from": D(2023, 1, 1)})
    with computed["engine"].connect() as conn:
        assert factory.broken_counts(conn, CREDIT_GRADES, load_policy_book(POLICIES))["grade_outside_its_band"] == 0
        assert factory.broken_counts(conn, CREDIT_GRADES, PolicyBook([april_only]))["grade_outside_its_band"] == 4


def test_explain_uses_the_months_numbers_through_the_cli(computed):
    env = {"MIGU_WAREHOUSE_URL": computed["url"], "MIGU_POLICY_DIR": str(POLICIES)}
    march = CliRunner().invoke(app, ["explain", "P1", "--month", "2024-03"], env=env)
    april = CliRunner().invoke(app, ["explain", "P1", "--month", "2024-04"], env=env)
    assert march.exit_code == 0 and april.exit_code == 0, march.output + april.output
    assert "不足5件，不记通报" in march.output and "A/B级无需处理" in march.output
    assert "2024-04-05 不知情订购投诉4件，记通报1次" in april.output
    assert "2024-04-10 不知情订购投诉2件，不足3件，不记通报" in april.output
    assert "须在3个工作日内（最迟2024-05-14，含当日）" in april.output
    with computed["engine"].connect() as conn:  # the function itself, given the book
        text = explain(conn, "P1", D(2024, 3, 1), load_policy_book(POLICIES)).render()
    assert "不足5件" in text and "不足3件" not in text


def test_report_names_the_version_in_force(computed, tmp_path):
    book = load_policy_book(POLICIES)
    for month, version in ((D(2024, 3, 1), "v2.1 "), (D(2024, 4, 1), "v2.2-test ")):
        result = build_report(computed["engine"], month, tmp_path / f"{month:%Y-%m}.xlsx", book=book)
        wb = load_workbook(result.path)
        first = next(wb["总览"].iter_rows(min_row=2, values_only=True))
        assert first[0] == "适用政策" and first[1].startswith(version), first
        headers = [c.value for c in wb["信用评级"][1]]
        versions = {r[headers.index("政策版本")] for r in wb["信用评级"].iter_rows(min_row=2, values_only=True)}
        assert version.strip()[1:] in versions


def test_every_reader_resolves_MIGU_POLICY_DIR(monkeypatch):
    monkeypatch.setenv("MIGU_POLICY_DIR", str(POLICIES))
    assert [p.version for p in load_policy_book().versions] == ["2.1", "2.2-test"]
    assert PolicyResource().for_month(D(2024, 4, 1)).version == "2.2-test"


def test_the_renewal_window_follows_the_policy_files(monkeypatch, tmp_path):
    """第二十条's lineage window is sized from the policy files in use (MIGU_POLICY_DIR), not the shipped ones."""
    from migu_assets.assets.renewal import credit_window_months

    assert credit_window_months() == 6
    longer = tmp_path / "policy"
    longer.mkdir()
    text = (POLICIES / "2023-12-01.yaml").read_text(encoding="utf-8")
    (longer / "2023-12-01.yaml").write_text(text.replace("low_score_months: 6", "low_score_months: 8"), "utf-8")
    monkeypatch.setenv("MIGU_POLICY_DIR", str(longer))
    assert credit_window_months() == 8


def test_no_number_of_the_policy_is_a_literal_outside_policy():
    """Distinctive numbers of the policy file never appear as numeric literals in the code that applies it."""
    import ast

    import migu_assets

    policy = load_policy_book().latest
    distinctive = {
        policy.health.per_notification,
        policy.health.late_handling_deduction,
        policy.health.timely_rate_threshold,
        policy.importance.operational_points,
        *policy.importance.operational_thresholds.values(),
        *(band.min for band in policy.credit.grades),
        policy.credit.max_score,
        *policy.credit.window_weights,
        policy.settlement.max_share_ratio,
        policy.renewal.low_score_threshold,
    }
    distinctive = {Decimal(str(v)) for v in distinctive} - {Decimal(0), Decimal(1)}
    # Where the policy is applied or its numbers are written for staff: rules, compute, checks, explain, report,
    # letters, the vocabulary. (Ports, text limits and list caps elsewhere are not policy numbers.)
    root = Path(migu_assets.__file__).parent
    applying = [*root.glob("rules/*.py"), *root.glob("compute/*.py"), *root.glob("report/*.py"),
                *root.glob("notices/*.py"), root / "assets" / "factory.py", root / "explain.py", root / "vocabulary.py"]
    found = []
    unrelated = {("notices/render.py", 25)}  # the PDF page margin in millimetres
    for path in applying:
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            number = isinstance(node, ast.Constant) and type(node.value) in (int, float)
            if number and Decimal(str(node.value)) in distinctive and (rel, node.value) not in unrelated:
                found.append(f"{rel}:{node.lineno}: {node.value}")
    assert not found, found


def test_invariants_are_sql_built_from_the_months_policy(computed):
    """Each spec's invariants compile to SQL for every version (the factory's checks run them month by month)."""
    book = load_policy_book(POLICIES)
    t = CREDIT_GRADES.table
    for version in book.versions:
        for inv in CREDIT_GRADES.invariants:
            sql = str(inv.broken(t, version).compile(compile_kwargs={"literal_binds": True}))
            assert "credit_grades" in sql
    assert isinstance(CREDIT_GRADES.invariants[0].broken(t, book.latest), sa.ColumnElement)


def test_code_version_follows_the_policy_files_so_older_materialisations_show_stale(db_url, engine, monkeypatch):
    """Dagster's code-version staleness: a materialisation records the asset's code_version; after a policy (or
    rule) change the definitions carry another one, which the UI shows as 'code version changed'."""
    insert(engine, schema.partners, [partner("P1", D(2024, 2, 1))])
    instance = dg.DagsterInstance.ephemeral()
    defs = build_definitions({"warehouse": WarehouseResource(url=db_url), "policy": PolicyResource()})
    job = defs.resolve_job_def("monthly_job")
    assert job.execute_in_process(instance=instance, partition_key="2024-02-01").success
    key = dg.AssetKey("credit_grades")
    shipped = defs.resolve_assets_def(key).code_versions_by_key[key]
    recorded = instance.get_latest_materialization_event(key).asset_materialization.tags["dagster/code_version"]
    assert recorded == shipped

    monkeypatch.setenv("MIGU_POLICY_DIR", str(POLICIES))  # a second policy version is published
    changed = factory.monthly_table_asset(CREDIT_GRADES).code_versions_by_key[key]
    assert changed != recorded  # the stored materialisation was made under the older rules
    monkeypatch.delenv("MIGU_POLICY_DIR")
    assert factory.monthly_table_asset(CREDIT_GRADES).code_versions_by_key[key] == shipped  # deterministic


def test_factory_builds_an_asset_and_its_check_for_every_spec():
    from migu_assets.definitions import asset_checks, defs

    graph = defs.resolve_asset_graph()
    check_names = {(k.asset_key.to_user_string(), k.name) for c in asset_checks for k in c.check_keys}
    assert {s.name for s in factory.SPECS} == {
        "warning_tiers", "health_scores", "importance_scores", "monthly_credit_scores", "credit_scores",
        "credit_grades", "control_actions", "settlements", "renewal_decisions", "measures",
    }
    for spec in factory.SPECS:
        node = graph.get(dg.AssetKey(spec.name))
        assert node.partitions_def is not None and node.group_name == spec.group
        assert node.code_version and node.metadata["policy_article"] == spec.article
        if spec.invariants:
            assert (spec.name, spec.check_name or f"{spec.name}_invariants") in check_names
