"""Operator hardening of the command line (issue 15): errors, exit codes, masking, safe defaults, lookup."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from migu_assets.cli import app
from migu_assets.console import escape_terminal
from migu_assets.runner import StepReport
from migu_assets.settings import mask_secrets
from migu_assets.warehouse import schema
from migu_assets.warehouse.engine import engine_for

runner = CliRunner()


def _env(tmp_path: Path, url: str | None = None) -> dict[str, str | None]:
    return {"MIGU_HOME": str(tmp_path / "home"), "MIGU_WAREHOUSE_URL": url, "DAGSTER_HOME": str(tmp_path / "dh"),
            "MIGU_DEBUG": None}


def _short_chinese_error(result, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, result.output
    assert "Traceback" not in result.output
    assert any("\u4e00" <= ch <= "\u9fff" for ch in lines[0]), lines[0]


# ---------------------------------------------------------------- shared machinery
def test_version_and_short_help(tmp_path):
    result = runner.invoke(app, ["--version"], env=_env(tmp_path))
    assert result.exit_code == 0 and result.output.startswith("migu-assets 0.")
    for args in (["-h"], ["run", "-h"], ["report", "--help"]):
        result = runner.invoke(app, args, env=_env(tmp_path))
        assert result.exit_code == 0 and "Usage" in result.output, args


@pytest.mark.parametrize(
    "args, words",
    [
        (["run", "--from", "2022-01", "--to", "2022-01"], ["2022-01", "2023-01 至"]),
        (["run", "--from", "2024-01", "--to", "2099-01"], ["2099-01", "2023-01 至"]),
        (["report", "--month", "2024-13"], ["YYYY-MM", "2023-01 至"]),
        (["explain", "P0007", "--month", "2022-01"], ["2022-01", "2023-01 至"]),
        (["report"], ["--month"]),
        (["run", "--from", "2024-01", "--to", "2024-01", "--bogus"], ["--bogus"]),
        (["frobnicate"], ["frobnicate"]),
    ],
)
def test_usage_errors_are_two_chinese_lines_and_exit_2(tmp_path, args, words):
    result = runner.invoke(app, args, env=_env(tmp_path))
    _short_chinese_error(result, 2)
    for word in words:
        assert word in result.output
    assert not (tmp_path / "home").exists()


def test_database_down_is_one_error_with_the_password_masked(tmp_path):
    url = "postgresql://migu:s3cret@127.0.0.1:1/warehouse"
    result = runner.invoke(app, ["report", "--month", "2024-01"], env=_env(tmp_path, url))
    _short_chinese_error(result)
    assert "s3cret" not in result.output and "migu:***@127.0.0.1:1" in result.output
    assert "MIGU_WAREHOUSE_URL" in result.output


def test_debug_shows_the_traceback(tmp_path):
    url = "postgresql://migu:s3cret@127.0.0.1:1/warehouse"
    result = runner.invoke(app, ["report", "--month", "2024-01", "--debug"], env=_env(tmp_path, url))
    assert result.exit_code != 0 and isinstance(result.exception, sa.exc.OperationalError)
    env = {**_env(tmp_path, url), "MIGU_DEBUG": "1"}
    result = runner.invoke(app, ["report", "--month", "2024-01"], env=env)
    assert isinstance(result.exception, sa.exc.OperationalError)


def test_where_masks_the_password_and_creates_nothing(tmp_path):
    result = runner.invoke(app, ["where"], env=_env(tmp_path, "postgresql+psycopg2://migu:p%40ss@db.example:5432/w"))
    assert result.exit_code == 0
    assert "p%40ss" not in result.output and "migu:***@db.example" in result.output
    assert not (tmp_path / "home").exists() and not (tmp_path / "dh").exists()


def test_mask_secrets():
    assert mask_secrets("postgresql://migu:pw@h/d and mysql://a:b@c/d") == "postgresql://migu:***@h/d and mysql://a:***@c/d"
    assert mask_secrets("host=h password=pw user=u") == "host=h password=*** user=u"
    assert mask_secrets("sqlite:////tmp/w.db") == "sqlite:////tmp/w.db"


@pytest.mark.parametrize("command", [["explain", "P0007", "--month", "2024-01"], ["partners"],
                                     ["report", "--month", "2024-01"], ["run", "--from", "2024-01", "--to", "2024-01"]])
def test_commands_never_create_a_missing_warehouse(tmp_path, command, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(app, command, env={"MIGU_HOME": None, "MIGU_WAREHOUSE_URL": None, "DAGSTER_HOME": None,
                                              "MIGU_DEBUG": None})
    _short_chinese_error(result)
    assert str(elsewhere / ".migu" / "warehouse.db") in result.output
    assert "MIGU_HOME" in result.output and "MIGU_WAREHOUSE_URL" in result.output
    assert not (elsewhere / ".migu").exists()


def test_escape_terminal_keeps_text_and_neutralises_control_sequences():
    assert escape_terminal("苏州\x1b[31m华音\x07\n第二行\t") == "苏州\\x1b[31m华音\\x07\n第二行\t"
    assert escape_terminal("\x9b2J") == "\\x9b2J"


# ---------------------------------------------------------------- quickstart / demo safety
def _real_looking_partner(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(schema.partners.insert(), [{
            "partner_id": "P0001", "name": "北京真实文化传媒有限公司", "parent_company_id": None,
            "on_network_rights_platform": True, "cooperation_start": dt.date(2023, 3, 1)}])


def _partner_names(url: str) -> list[str]:
    with engine_for(url).connect() as conn:
        return list(conn.execute(sa.select(schema.partners.c.name)).scalars())


def test_quickstart_and_demo_replace_refuse_to_delete_real_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = _env(tmp_path, url)
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    _real_looking_partner(url)
    for args in (["quickstart", "--months", "1"], ["demo", "--replace"]):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 1, result.output
        assert "partners 1 行" in result.output and "--force" in result.output
        assert _partner_names(url) == ["北京真实文化传媒有限公司"]
    result = runner.invoke(app, ["demo", "--force"], env=env, input="n\n")  # confirmation declined
    assert result.exit_code == 1 and "确定" in result.output and "已取消" in result.output
    assert _partner_names(url) == ["北京真实文化传媒有限公司"]
    result = runner.invoke(app, ["demo", "--force"], env=env, input="y\n")
    assert result.exit_code == 0, result.output
    assert "北京真实文化传媒有限公司" not in _partner_names(url) and len(_partner_names(url)) == 20
    # the demo's own rows may be replaced without --force; a loaded row makes them real again
    assert runner.invoke(app, ["demo", "--replace", "--seed", "7"], env=env).exit_code == 0
    with engine_for(url).begin() as conn:
        conn.execute(schema.credit_issue_dates.insert(), [{"month": dt.date(2023, 1, 1), "issued_on": dt.date(2023, 2, 8)}])
    result = runner.invoke(app, ["demo", "--replace"], env=env)
    assert result.exit_code == 1 and "credit_issue_dates" in result.output


def test_quickstart_writes_the_workbooks_and_says_where_they_are(tmp_path):
    """Issue 14: the workbooks are written by the command's own report_job run, last; quickstart names the file."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = runner.invoke(app, ["quickstart", "--months", "2"], env=_env(tmp_path, url))
    assert result.exit_code == 0, result.output
    runs = [line.split("：")[0] for line in result.output.splitlines() if line.startswith("▶ ") and "_job" in line]
    assert runs == ["▶ daily_job", "▶ monthly_job", "▶ status_job", "▶ report_job"]
    reports = sorted((tmp_path / "home" / "reports").glob("migu-report-*.xlsx"))
    assert len(reports) >= 2 and f"{reports[-1]}   （Excel 月报，每个月份一份）" in result.output  # one a month


# ---------------------------------------------------------------- run's exit code
def _report(failed=(), warned=()) -> StepReport:
    return StepReport("monthly_job", "x", "r1", 0.1, {"credit_grades": 1}, list(failed), list(warned))


@pytest.mark.parametrize("failed, warned, code", [((), (), 0), ((), ("credit_grades:calendar",), 0),
                                                  (("settlements:reconciles",), (), 1)])
def test_run_exits_1_on_error_checks_and_prints_warnings(tmp_path, monkeypatch, failed, warned, code):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = _env(tmp_path, url)
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    monkeypatch.setattr("migu_assets.runner.run_months", lambda *a, **k: [_report(failed, warned)])
    result = runner.invoke(app, ["run", "--from", "2024-01", "--to", "2024-01"], env=env)
    assert result.exit_code == code, result.output
    for name in (*failed, *warned):
        assert name in result.output
    if failed:
        assert "ERROR" in result.output
    if warned:
        assert "WARN" in result.output


def test_report_out_to_an_impossible_path_is_a_clear_error(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = _env(tmp_path, url)
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = runner.invoke(app, ["report", "--month", "2024-01", "--out", str(blocker / "sub" / "r.xlsx")], env=env)
    _short_chinese_error(result)
    assert str(blocker) in result.output
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        result = runner.invoke(app, ["report", "--month", "2024-01", "--out", str(locked / "r.xlsx")], env=env)
        _short_chinese_error(result)


@pytest.mark.parametrize(
    "args, env_extra, words, code",
    [
        (["demo", "--partners", "x"], {}, ["--partners", "应为整数"], 2),
        (["demo", "--partners", "0"], {}, ["--partners", "应不小于 1"], 2),
        (["report", "--month", "2024-01"], {"MIGU_PARTITIONS_START": "2023-01-15"}, ["MIGU_PARTITIONS_START"], 1),
        (["init"], {"MIGU_WAREHOUSE_URL": "not a url"}, ["MIGU_WAREHOUSE_URL"], 1),
    ],
)
def test_more_errors_in_chinese(tmp_path, args, env_extra, words, code):
    result = runner.invoke(app, args, env={**_env(tmp_path), **env_extra})
    _short_chinese_error(result, code)
    for word in words:
        assert word in result.output
