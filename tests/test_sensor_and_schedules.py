"""SPEC §9: the major-violation sensor requests the violation's month and later materialised months once;
the daily and monthly schedules request the right partitions."""

import datetime as dt
import json

import dagster as dg
from dagster_helpers import defs_for, materialize_range
from factories import complaints_on, insert, partner, table_rows

from migu_assets.definitions import defs
from migu_assets.resources import WarehouseResource
from migu_assets.warehouse import schema

D = dt.date


def _violation(vid, pid, occurred, recorded):
    return {
        "violation_id": vid,
        "partner_id": pid,
        "violation_type": 1,
        "occurred_on": occurred,
        "recorded_at": recorded,
        "description": "重大声誉危机事件",
        "bad_credit_list": False,
    }


def _evaluate(instance, db_url, cursor):
    sensor = defs.resolve_sensor_def("major_violation_sensor")
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource(url=db_url)}
    )
    return sensor(ctx), ctx


def test_sensor_requests_violation_month_and_later_materialised_months_once(db_url, engine):
    insert(engine, schema.partners, [partner("P1"), partner("P2")])
    insert(engine, schema.complaint_tickets, complaints_on("P1", D(2024, 1, 10), 5))
    with dg.instance_for_test() as instance:
        assert materialize_range(db_url, "daily_job", "2024-01-01", "2024-03-31", instance).success
        assert materialize_range(db_url, "monthly_job", "2024-01-01", "2024-03-01", instance).success

        result, _ = _evaluate(instance, db_url, None)
        assert isinstance(result, dg.SkipReason)  # nothing recorded yet

        insert(engine, schema.major_violations, [_violation("V1", "P1", D(2024, 2, 14), dt.datetime(2024, 4, 2, 9))])
        result, _ = _evaluate(instance, db_url, None)
        requests = result.run_requests
        assert [(r.partition_key, r.run_key) for r in requests] == [
            ("2024-02-01", "V1:2024-02-01"),
            ("2024-03-01", "V1:2024-03-01"),
        ]
        selected = {k.to_user_string() for k in requests[0].asset_selection}
        assert {"health_scores", "monthly_credit_scores", "credit_scores", "credit_grades"} <= selected
        assert json.loads(result.cursor) == {"recorded_at": "2024-04-02T09:00:00", "violation_id": "V1"}

        # Second evaluation with the stored cursor: nothing new, nothing requested.
        again, _ = _evaluate(instance, db_url, result.cursor)
        assert isinstance(again, dg.SkipReason)

        # Executing the requested runs terminates P1 from February: credit 0, TERMINATED, no March row.
        for r in requests:
            assert materialize_range(
                db_url, "monthly_job", r.partition_key, instance=instance, asset_selection=list(r.asset_selection)
            ).success
        grades = {(g["partner_id"], g["month"]): g["grade"] for g in table_rows(engine, schema.credit_grades)}
        assert grades[("P1", D(2024, 2, 1))] == "TERMINATED"
        assert ("P1", D(2024, 3, 1)) not in grades
        assert grades[("P2", D(2024, 3, 1))] == "A"


def test_sensor_skips_a_violation_in_a_month_not_yet_complete(sqlite_url):
    from factories import insert as ins

    from migu_assets.warehouse.engine import engine_for

    engine = engine_for(sqlite_url)
    ins(engine, schema.partners, [partner("P1")])
    today = dt.date.today()
    ins(engine, schema.major_violations, [_violation("V9", "P1", today, dt.datetime.now())])
    with dg.instance_for_test() as instance:
        result, _ = _evaluate(instance, sqlite_url, None)
    assert result.run_requests == []
    assert json.loads(result.cursor)["violation_id"] == "V9"


def test_sensor_is_running_by_default_and_polls_often():
    sensor = defs.resolve_sensor_def("major_violation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds <= 30


def test_daily_schedule_requests_yesterday_and_monthly_waits_for_the_last_day(sqlite_url):
    d = defs_for(sqlite_url)
    daily = d.resolve_schedule_def("daily_complaints_schedule")
    monthly = d.resolve_schedule_def("monthly_chain_schedule")
    with dg.instance_for_test() as instance:
        tick = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=dt.datetime(2024, 3, 1, 1, 0, tzinfo=_shanghai())
        )
        req = daily.evaluate_tick(tick).run_requests
        assert [r.partition_key for r in req] == ["2024-02-29"]  # yesterday, leap day
        tick = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2024, 3, 1, 3, 0, tzinfo=_shanghai()),
            repository_def=d.get_repository_def(),
        )
        waiting = monthly.evaluate_tick(tick)
        assert waiting.run_requests == []  # Feb 29 not counted yet: the month waits for its last day
        assert "2024-02-29" in waiting.skip_message
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="daily_complaint_counts", partition="2024-02-29")
        )
        req = monthly.evaluate_tick(tick).run_requests
        assert [(r.partition_key, r.run_key) for r in req] == [("2024-02-01", "monthly_chain:2024-02-01")]


def _shanghai():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")
