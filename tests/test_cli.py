"""The operator's command line: init, load (with progress, all-or-nothing), demo and run through Dagster."""

import sqlalchemy as sa
from typer.testing import CliRunner

from migu_assets.cli import app
from migu_assets.warehouse import schema
from migu_assets.warehouse.engine import engine_for

runner = CliRunner()


def _env(tmp_path, url):
    return {"MIGU_HOME": str(tmp_path / "home"), "MIGU_WAREHOUSE_URL": url, "DAGSTER_HOME": str(tmp_path / "dh")}


def _count(url, table):
    with engine_for(url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_load_prints_progress_and_rejects_bad_files_whole(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = _env(tmp_path, url)
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    good = tmp_path / "partners.csv"
    good.write_text(
        "partner_id,name,parent_company_id,on_network_rights_platform,cooperation_start\n"
        "P1,北京星河文化传媒有限公司,,是,2023-05-01\nP2,上海测试,,否,2023-06-01\n",
        encoding="utf-8-sig",
    )
    result = runner.invoke(app, ["load", "partners", str(good)], env=env)
    assert result.exit_code == 0, result.output
    assert "已读取并逐列检查 2 行" in result.output and "新增 2 行" in result.output
    bad = tmp_path / "partners2.csv"
    bad.write_text(
        "partner_id,name,parent_company_id,on_network_rights_platform,cooperation_start\n"
        "P3,甲,,maybe,2023-05-01\nP4,乙,,否,2023-13-01\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["load", "partners", str(bad)], env=env)
    assert result.exit_code == 1
    lines = result.output.splitlines()  # one line per rule, naming the column and the rows
    assert any("on_network_rights_platform" in line and "第 2 行" in line for line in lines), result.output
    assert any("cooperation_start" in line and "第 3 行" in line for line in lines), result.output
    assert _count(url, schema.partners) == 2


def test_run_needs_init_and_a_complete_month(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = _env(tmp_path, url)
    result = runner.invoke(app, ["run", "--from", "2024-01", "--to", "2024-01"], env=env)
    assert result.exit_code == 1 and "migu-assets init" in result.output
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    result = runner.invoke(app, ["run", "--from", "2024-02", "--to", "2024-01"], env=env)
    assert result.exit_code == 2 and "早于" in result.output
    result = runner.invoke(app, ["run", "--from", "2024-1x", "--to", "2024-01"], env=env)
    assert result.exit_code == 2 and "YYYY-MM" in result.output


def test_demo_then_run_computes_the_months_in_four_dagster_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = _env(tmp_path, url)
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    result = runner.invoke(app, ["demo", "--partners", "20", "--months", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["demo"], env=env).exit_code == 1  # refuses to overwrite without --replace
    result = runner.invoke(app, ["run", "--from", "2024-01", "--to", "2024-02"], env=env)
    assert result.exit_code == 0, result.output
    # daily, monthly, the as-of-today refresh (SPEC v2 §5a: status_job) and the months' workbooks (report_job)
    assert "完成：4 个 Dagster 运行" in result.output
    assert "✓ credit_grades" in result.output
    assert _count(url, schema.credit_grades) == 20 + 19  # P0013 starts cooperating in February
    runs = list((tmp_path / "dh").iterdir())
    assert runs, "the runs are recorded in DAGSTER_HOME for the UI"
