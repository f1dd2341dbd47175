"""A month whose newest run did not finish is shown as incomplete by report, explain and partner_status."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import openpyxl
import sqlalchemy as sa
from typer.testing import CliRunner

from migu_assets.cli import app
from migu_assets.completeness import incomplete_months
from migu_assets.partitions import daily_partitions, monthly_partitions
from migu_assets.warehouse import schema
from migu_assets.warehouse.engine import engine_for

JAN, FEB = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
RANGE = {"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-02-01"}


def _jobs(fail: set[str]):
    @dg.asset(partitions_def=monthly_partitions, backfill_policy=dg.BackfillPolicy.single_run())
    def grades(context) -> None:
        if any(k in fail for k in context.partition_keys):
            raise RuntimeError("killed")

    @dg.asset(partitions_def=daily_partitions)
    def daily_complaint_counts() -> None:
        raise RuntimeError("daily failures do not make a month incomplete")

    defs = dg.Definitions(
        assets=[grades, daily_complaint_counts],
        jobs=[dg.define_asset_job("monthly_job", [grades], partitions_def=monthly_partitions),
              dg.define_asset_job("daily_job", [daily_complaint_counts], partitions_def=daily_partitions)],
    )
    return defs.resolve_job_def("monthly_job"), defs.resolve_job_def("daily_job")


def _run(job, instance, **kw):
    return job.execute_in_process(instance=instance, raise_on_error=False, **kw)


def test_the_newest_deciding_run_decides():
    ok_monthly, ok_daily = _jobs(set())
    bad_monthly, _ = _jobs({"2024-02-01"})
    with dg.instance_for_test() as instance:
        assert _run(ok_monthly, instance, tags=RANGE).success
        assert incomplete_months(instance) == {}
        assert not _run(bad_monthly, instance, partition_key="2024-02-01").success
        assert not _run(ok_daily, instance, partition_key="2024-01-15").success  # ignored
        found = incomplete_months(instance)
        assert set(found) == {FEB} and "2024-02" in found[FEB].text and "migu-assets run" in found[FEB].text
        assert incomplete_months(instance, [JAN]) == {}
        assert _run(ok_monthly, instance, partition_key="2024-02-01").success
        assert incomplete_months(instance) == {}
        assert not _run(bad_monthly, instance, tags=RANGE).success  # a failed range run marks both months
        assert set(incomplete_months(instance)) == {JAN, FEB}
        assert _run(ok_monthly, instance, tags=RANGE).success
        # a run whose process died before it started (then marked failed) wrote nothing: it decides nothing
        never = instance.create_run_for_job(ok_monthly, tags={"dagster/partition": "2024-02-01"})
        instance.report_run_failed(never, "process gone")
        assert instance.get_run_by_id(never.run_id).status == dg.DagsterRunStatus.FAILURE
        assert incomplete_months(instance) == {}


def test_a_document_run_decides_nothing():
    """Issue 14: the workbook (report_job) and the letters (notices_job) change no table the chain computes, so a
    failed document run does not mark its months incomplete, nor does a successful one hide a month that is."""
    ok_monthly, _ = _jobs(set())
    bad_monthly, _ = _jobs({"2024-02-01"})

    def report_job(fails: bool):
        @dg.asset(partitions_def=monthly_partitions, backfill_policy=dg.BackfillPolicy.single_run())
        def monthly_report() -> None:
            if fails:
                raise PermissionError("the workbook is open in Excel")

        return dg.Definitions(assets=[monthly_report], jobs=[
            dg.define_asset_job("report_job", [monthly_report], partitions_def=monthly_partitions),
        ]).resolve_job_def("report_job")

    with dg.instance_for_test() as instance:
        assert _run(ok_monthly, instance, tags=RANGE).success
        assert not _run(report_job(fails=True), instance, tags=RANGE).success
        assert incomplete_months(instance) == {}  # the computed months stay complete
        assert not _run(bad_monthly, instance, partition_key="2024-02-01").success
        assert _run(report_job(fails=False), instance, partition_key="2024-02-01").success
        assert set(incomplete_months(instance)) == {FEB}  # a later workbook does not complete the month


def test_report_explain_and_partner_status_show_the_incomplete_month(tmp_path):
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = {"MIGU_HOME": str(tmp_path / "home"), "MIGU_WAREHOUSE_URL": url, "DAGSTER_HOME": str(tmp_path / "dh"),
           "MIGU_DEBUG": None}
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    assert runner.invoke(app, ["demo", "--months", "1"], env=env).exit_code == 0
    assert runner.invoke(app, ["run", "--from", "2024-01", "--to", "2024-01"], env=env).exit_code == 0
    out = tmp_path / "ok.xlsx"
    result = runner.invoke(app, ["report", "--month", "2024-01", "--out", str(out)], env=env)
    assert result.exit_code == 0 and "没有完成" not in result.output
    result = runner.invoke(app, ["explain", "P0001", "--month", "2024-01"], env=env)
    assert result.exit_code == 0 and "没有完成" not in result.output

    bad_monthly, _ = _jobs({"2024-01-01"})  # the next monthly run over January dies half-way
    with dg.DagsterInstance.from_config(str(tmp_path / "dh")) as instance:
        assert not _run(bad_monthly, instance, partition_key="2024-01-01").success

    out = tmp_path / "bad.xlsx"
    result = runner.invoke(app, ["report", "--month", "2024-01", "--out", str(out)], env=env)
    assert result.exit_code == 0 and "2024-01 的月度计算没有完成" in result.output
    overview = openpyxl.load_workbook(out)["总览"]
    assert any("没有完成" in str(c.value) for row in overview.iter_rows() for c in row)
    result = runner.invoke(app, ["explain", "P0001", "--month", "2024-01"], env=env)
    assert result.exit_code == 0 and result.output.startswith("⚠ 2024-01 的月度计算没有完成")

    from migu_assets.assets.status import partner_status
    from migu_assets.resources import PolicyResource, WarehouseResource

    with dg.DagsterInstance.from_config(str(tmp_path / "dh")) as instance:
        res = dg.materialize([partner_status], instance=instance, resources={"warehouse": WarehouseResource(url=url), "policy": PolicyResource()})
    assert res.success
    with engine_for(url).connect() as conn:
        reasons = conn.execute(sa.select(schema.partner_status.c.latest_month, schema.partner_status.c.reason)).all()
    assert reasons and all(r.startswith("⚠ 2024-01") for m, r in reasons if m == JAN)
    assert any(m == JAN for m, _ in reasons)
