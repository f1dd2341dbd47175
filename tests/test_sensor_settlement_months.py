"""SPEC §9 / v2 §7: after a violation the sensor also refreshes every later month whose settlement balance changes —
a month materialised for ``settlements`` is requested even when its credit chain was not computed."""

import datetime as dt

import dagster as dg
from factories import insert, partner

from migu_assets.definitions import defs
from migu_assets.resources import WarehouseResource
from migu_assets.warehouse import schema

D = dt.date


def test_sensor_requests_later_months_materialised_for_settlements_or_grades(sqlite_url):
    from migu_assets.warehouse.engine import engine_for

    engine = engine_for(sqlite_url)
    insert(engine, schema.partners, [partner("P1")])
    insert(engine, schema.major_violations, [{
        "violation_id": "V1", "partner_id": "P1", "violation_type": 1, "occurred_on": D(2024, 2, 14),
        "recorded_at": dt.datetime(2024, 9, 2, 9), "description": "重大声誉危机事件", "bad_credit_list": True}])
    with dg.instance_for_test() as instance:
        for key, month in [("credit_grades", "2024-03-01"), ("settlements", "2024-03-01"),
                           ("settlements", "2024-05-01"), ("settlements", "2024-01-01")]:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=month))
        sensor = defs.resolve_sensor_def("major_violation_sensor")
        ctx = dg.build_sensor_context(instance=instance, resources={"warehouse": WarehouseResource(url=sqlite_url)})
        result = sensor(ctx)
    requests = result.run_requests
    # the violation's month, March (both) and May (settlements only); January is earlier and does not change
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("2024-02-01", "V1:2024-02-01"),
        ("2024-03-01", "V1:2024-03-01"),
        ("2024-05-01", "V1:2024-05-01"),
    ]
    assert dg.AssetKey("settlements") in requests[-1].asset_selection
