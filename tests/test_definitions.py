"""The code location loads, and its assets, jobs, schedules and sensors are the ones the policy needs."""

import dagster as dg

from migu_assets.definitions import defs

EXPECTED_ASSETS = {
    # sources (SPEC §1)
    "partners",
    "complaint_tickets",
    "control_events",
    "importance_declarations",
    "partner_monthly_business",
    "settlement_items",
    "payment_holds",
    "major_violations",
    "contracts",
    "credit_issue_dates",
    # chain
    "daily_complaint_counts",
    "warning_tiers",
    "health_scores",
}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_asset_graph_snapshot():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert EXPECTED_ASSETS <= keys


def test_every_computed_asset_is_described_grouped_and_owned():
    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.description, key
        assert node.group_name and node.group_name != "default", key
        assert node.owners, key


def test_jobs_and_schedules():
    assert defs.resolve_job_def("daily_job").partitions_def.cron_schedule == "0 0 * * *"
    assert defs.resolve_job_def("monthly_job").partitions_def.cron_schedule == "0 0 1 * *"
    schedules = {s.name: s for s in defs.schedules}
    assert schedules["daily_complaints_schedule"].cron_schedule == "0 1 * * *"
    assert schedules["monthly_chain_schedule"].cron_schedule == "0 3-23 1 * *"
    assert {s.execution_timezone for s in schedules.values()} == {"Asia/Shanghai"}


def test_sensors_and_jobs_present():
    assert {s.name for s in defs.sensors} >= {"major_violation_sensor", "partner_status_refresh_sensor"}
    for name in ("daily_job", "monthly_job", "status_job"):
        assert defs.resolve_job_def(name) is not None


def test_ui_charts_are_chinese_markdown_bars():
    """Issue 15: the charts in the UI metadata use the vocabulary's Chinese names, drawn as markdown text."""
    from migu_assets.assets.charts import grade_chart, tier_chart

    grades = grade_chart({"A": 4, "C": 2, "TERMINATED": 1}).value
    assert "| A级 | 4 | " + "█" * 30 + " |" in grades and "| C级 | 2 | " + "█" * 15 + " |" in grades
    assert "| 终止合作 | 1 |" in grades and "| B级 | 0 |  |" in grades and "TERM" not in grades
    tiers = tier_chart({2: 3}).value
    assert "| 二级预警 | 3 | " + "█" * 30 + " |" in tiers and "| 一级预警 | 0 |  |" in tiers


def test_letters_follow_each_successful_monthly_computation_in_their_own_job():
    """Issue 16 at production size: the letters are not part of monthly_job or the violation recomputation;
    notices_after_monthly_runs requests notices_job for the months the finished run covered."""
    from migu_assets.sensors.status import letters_request

    assert dg.AssetKey("notices") not in defs.resolve_job_def("monthly_job").asset_layer.executable_asset_keys
    assert "notices_after_monthly_runs" in {s.name for s in defs.sensors}
    ranged = dg.DagsterRun(job_name="monthly_job", run_id="r1", tags={
        "dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-03-01"})
    request = letters_request(ranged)
    assert request.run_key == "notices:r1"
    assert request.tags["dagster/asset_partition_range_start"] == "2024-01-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2024-03-01"
    one = letters_request(dg.DagsterRun(job_name="__ASSET_JOB", run_id="r2", tags={"dagster/partition": "2024-02-01"}))
    assert (one.partition_key, one.run_key) == ("2024-02-01", "notices:r2")
    assert letters_request(dg.DagsterRun(job_name="monthly_job", run_id="r3")) is None


def test_the_workbook_follows_each_successful_monthly_computation_in_its_own_job():
    """Issue 14: the Excel workbook is a document like the letters — not part of monthly_job nor of the violation
    recomputation (a month's computation without ~2 s of XlsxWriter at full size); report_after_monthly_runs requests
    report_job for the months the finished run covered, and a report_job run requests nothing further."""
    from migu_assets.definitions import computed_assets
    from migu_assets.sensors.status import computed_monthly_assets, monthly_keys, report_request

    report = dg.AssetKey("monthly_report")
    assert report not in defs.resolve_job_def("monthly_job").asset_layer.executable_asset_keys
    assert defs.resolve_job_def("report_job").asset_layer.executable_asset_keys == {report}
    sensor = next(s for s in defs.sensors if s.name == "report_after_monthly_runs")
    assert sensor.job_name == "report_job"
    from migu_assets.assets._common import VIOLATION_SENSITIVE

    tag = next(iter(VIOLATION_SENSITIVE))  # what the major-violation sensor selects its recomputation by
    assert tag not in defs.resolve_assets_def(report).tags_by_key[report]
    assert defs.resolve_assets_def("credit_grades").tags_by_key[dg.AssetKey("credit_grades")][tag] == "true"
    ranged = dg.DagsterRun(job_name="monthly_job", run_id="r1", tags={
        "dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-12-01"})
    request = report_request(ranged)
    assert request.run_key == "report:r1"
    assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) \
        == ("2024-01-01", "2024-12-01")
    recomputed = dg.DagsterRun(job_name="__ASSET_JOB", run_id="r2", tags={"dagster/partition": "2024-02-01"},
                               asset_selection=frozenset({dg.AssetKey("credit_grades")}))
    assert computed_monthly_assets(recomputed, monthly_keys(computed_assets), "monthly_job")
    assert report_request(recomputed).partition_key == "2024-02-01"
    own = dg.DagsterRun(job_name="report_job", run_id="r3", asset_selection=frozenset({report}))
    assert not computed_monthly_assets(own, monthly_keys(computed_assets), "monthly_job")  # no loop


def test_a_run_that_wrote_the_documents_itself_requests_them_no_second_time():
    """Materialising every monthly asset from the lineage page includes the workbook and the letters: the sensors
    then request neither again for the same months (a second workbook of the same months would only cost time)."""
    from migu_assets.sensors.status import letters_request, report_request

    tags = {"dagster/partition": "2024-02-01"}
    grades = dg.AssetKey("credit_grades")
    everything = frozenset({grades, dg.AssetKey("monthly_report"), dg.AssetKey("notices")})
    assert report_request(dg.DagsterRun(job_name="__ASSET_JOB", run_id="r1", tags=tags,
                                        asset_selection=everything)) is None
    assert letters_request(dg.DagsterRun(job_name="__ASSET_JOB", run_id="r1", tags=tags,
                                         asset_selection=everything)) is None
    chain = dg.DagsterRun(job_name="__ASSET_JOB", run_id="r2", tags=tags, asset_selection=frozenset({grades}))
    assert report_request(chain).run_key == "report:r2" and letters_request(chain).run_key == "notices:r2"


def test_what_if_runs_write_no_published_document():
    """A what-if run computes into its scenario store; the workbook and the letters would write the published files
    ($MIGU_HOME/reports, notices) from the draft, so neither is among the assets it materialises."""
    from migu_assets.whatif.scenario import _monthly_keys

    keys = set(_monthly_keys(defs))
    assert dg.AssetKey("credit_grades") in keys and dg.AssetKey("settlements") in keys
    assert dg.AssetKey("monthly_report") not in keys and dg.AssetKey("notices") not in keys
