"""What `run_months` reports: ERROR vs WARN checks by severity, and a failed step as RunFailed (issue 15)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from migu_assets.partitions import daily_partitions, monthly_partitions
from migu_assets.runner import RunFailed, run_months

SINGLE = dg.BackfillPolicy.single_run()


def _defs(monthly_raises: bool) -> dg.Definitions:
    @dg.asset(partitions_def=daily_partitions, backfill_policy=SINGLE)
    def counts() -> None:
        return None

    @dg.asset(partitions_def=monthly_partitions, backfill_policy=SINGLE)
    def grades() -> None:
        if monthly_raises:
            raise RuntimeError("连接被重置 password=hunter2")

    @dg.asset_check(asset=grades)
    def hard() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False)

    @dg.asset_check(asset=grades)
    def soft() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)

    return dg.Definitions(
        assets=[counts, grades],
        asset_checks=[hard, soft],
        jobs=[
            dg.define_asset_job("daily_job", selection=[counts], partitions_def=daily_partitions),
            dg.define_asset_job("monthly_job", selection=[grades], partitions_def=monthly_partitions),
        ],
    )


def test_checks_are_split_by_severity():
    lines: list[str] = []
    with dg.instance_for_test() as instance:
        reports = run_months(dt.date(2024, 1, 1), dt.date(2024, 2, 1), defs=_defs(False), instance=instance,
                             progress=lines.append, today=dt.date(2024, 6, 1))
    monthly = reports[-1]
    assert monthly.checks_failed == ["grades:hard"] and monthly.checks_warned == ["grades:soft"]
    assert any("ERROR" in line and "grades:hard" in line for line in lines)
    assert any("WARN" in line and "grades:soft" in line for line in lines)


def test_a_failed_step_is_one_message_with_the_run_and_the_step_and_no_secret():
    with dg.instance_for_test() as instance, pytest.raises(RunFailed) as failed:
        run_months(dt.date(2024, 1, 1), dt.date(2024, 1, 1), defs=_defs(True), instance=instance,
                   progress=lambda _l: None, today=dt.date(2024, 6, 1))
    assert "grades" in failed.value.message and "连接被重置" in failed.value.message
    assert "hunter2" not in failed.value.message
    assert "Runs" in failed.value.hint


def test_a_workbook_that_cannot_be_written_leaves_the_computed_months_and_says_not_to_recompute():
    """Issue 14: report_job runs last; when it fails, the months are computed and the status page refreshed, and the
    message sends the operator to write the workbooks again (`migu-assets report`), not to recompute."""
    refreshed: list[bool] = []

    @dg.asset(partitions_def=daily_partitions, backfill_policy=SINGLE)
    def counts() -> None:
        return None

    @dg.asset(partitions_def=monthly_partitions, backfill_policy=SINGLE)
    def grades() -> None:
        return None

    @dg.asset(partitions_def=monthly_partitions, backfill_policy=SINGLE, deps=[grades])
    def monthly_report() -> None:
        raise PermissionError("[Errno 13] Permission denied: 'migu-report-2024-01.xlsx'")

    @dg.asset
    def partner_status() -> None:
        refreshed.append(True)

    defs = dg.Definitions(
        assets=[counts, grades, monthly_report, partner_status],
        jobs=[
            dg.define_asset_job("daily_job", selection=[counts], partitions_def=daily_partitions),
            dg.define_asset_job("monthly_job", selection=[grades], partitions_def=monthly_partitions),
            dg.define_asset_job("status_job", selection=[partner_status]),
            dg.define_asset_job("report_job", selection=[monthly_report], partitions_def=monthly_partitions),
        ],
    )
    lines: list[str] = []
    with dg.instance_for_test() as instance, pytest.raises(RunFailed) as failed:
        run_months(dt.date(2024, 1, 1), dt.date(2024, 2, 1), defs=defs, instance=instance, progress=lines.append,
                   today=dt.date(2024, 6, 1))
    assert refreshed == [True]  # the status job ran before the workbooks
    assert "report_job" in failed.value.message and "Permission denied" in failed.value.message
    assert "2024-01 至 2024-02 已算完" in failed.value.hint and "migu-assets report --month" in failed.value.hint
    assert "无需重算" in failed.value.hint
    assert [line.split("：")[0] for line in lines if line.startswith("▶")] == [
        "▶ daily_job", "▶ monthly_job", "▶ status_job", "▶ report_job"]
