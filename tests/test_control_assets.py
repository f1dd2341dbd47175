"""Materialising control_actions (SPEC §6, 第八条/附件1–4) through Dagster on SQLite and PostgreSQL: the month's
events only, escalation counted within the month, an issuer override, the asset check, and an identical re-run."""

import datetime as dt

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster_helpers import resources_for
from factories import insert, partner, table_rows

from migu_assets.assets._common import CONTROL, VIOLATION_SENSITIVE
from migu_assets.assets.control import control_actions_valid
from migu_assets.definitions import defs
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.warehouse import schema
from migu_assets.warehouse.engine import engine_for

D = dt.date
KEY = dg.AssetKey("control_actions")
NW = "NATIONWIDE"
SC, BIZ, SUS = "sub_channel", "business", "suspend_promotion"


def materialize_selected(db_url: str, job_name: str, month: str, asset_selection: list[dg.AssetKey]):
    """``monthly_job`` for one month restricted to ``asset_selection``.

    Same run as ``dagster_helpers.materialize_range(..., asset_selection=...)``, which raises
    DagsterInvalidDefinitionError (the resources resolved into ``defs``' jobs conflict with the ones it passes when
    the job is subset): here the job is resolved from a Definitions built with the test resources instead.
    """
    test_defs = dg.Definitions(
        assets=defs.assets, asset_checks=defs.asset_checks, jobs=defs.jobs, resources=resources_for(db_url)
    )
    job = test_defs.resolve_job_def(job_name)
    with dg.instance_for_test() as instance:
        return job.execute_in_process(
            instance=instance,
            tags={ASSET_PARTITION_RANGE_START_TAG: month, ASSET_PARTITION_RANGE_END_TAG: month},
            asset_selection=asset_selection,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )


def event(event_id, event_type, day, province=None, sub_channel="SC1", business="B1", issuer=None, pid="P1"):
    return {
        "event_id": event_id,
        "partner_id": pid,
        "business_id": business,
        "sub_channel_id": sub_channel,
        "event_type": event_type,
        "province": province,
        "event_date": day,
        "issuer_requirement": issuer,
    }


def _scenario(engine):
    insert(engine, schema.partners, [partner("P1"), partner("P2")])
    insert(
        engine,
        schema.control_events,
        [
            # February and April events belong to other partitions: not read for March, and not counted.
            event("F1", "dial_test_provincial", D(2024, 2, 28), "GD"),
            event("F2", "dial_test_group", D(2024, 2, 29)),
            event("A1", "dial_test_group", D(2024, 4, 1)),
            # March, B1 of P1: warnings M1 (1st), M2 (2nd), M4 (3rd → 15 days); M3 is an issuer override.
            event("M1", "dial_test_provincial", D(2024, 3, 1), "GD"),
            event("M2", "group_complaint_notice", D(2024, 3, 4), "GD", sub_channel=None),
            event("M3", "dial_test_group", D(2024, 3, 10), issuer="按拨测单位函件关停全网推广6个月"),
            event("M4", "dial_test_group", D(2024, 3, 31)),
            # P2: 附件2 nationwide on the last day of March.
            event("N1", "regulator_supervised_national", D(2024, 3, 31), pid="P2", sub_channel="SC7"),
        ],
    )


EXPECTED_MARCH = [
    # (action_id, target, action, business_id, sub_channel_id, scope, start, end, clause)
    ("M1:business:warning", BIZ, "warning", "B1", None, "GD", D(2024, 3, 1), None, "附件3"),
    ("M1:sub_channel:suspend_promotion", SC, SUS, "B1", "SC1", "GD", D(2024, 3, 2), D(2024, 6, 1), "附件3"),
    ("M2:business:suspend_promotion", BIZ, SUS, "B1", None, "GD", D(2024, 3, 5), D(2024, 4, 4), "附件4"),
    ("M2:business:warning", BIZ, "warning", "B1", None, "GD", D(2024, 3, 4), None, "附件4"),
    ("M3:business:manual_per_issuer", BIZ, "manual_per_issuer", "B1", "SC1", NW, D(2024, 3, 10), None, "附件3/说明2"),
    ("M4:business:suspend_promotion:esc3", BIZ, SUS, "B1", None, NW, D(2024, 4, 1), D(2024, 4, 15), "附件3/说明1"),
    ("M4:business:warning", BIZ, "warning", "B1", None, NW, D(2024, 3, 31), None, "附件3"),
    # SC1's 2nd counted dial test in March (M3 does not count): 3 + 1 months from 03-31 → 07-31.
    ("M4:sub_channel:suspend_promotion", SC, SUS, "B1", "SC1", NW, D(2024, 4, 1), D(2024, 7, 31), "附件3/说明1"),
    ("N1:business:suspend_promotion", BIZ, SUS, "B1", None, NW, D(2024, 4, 1), D(2024, 4, 30), "附件2"),
    ("N1:sub_channel:suspend_promotion", SC, SUS, "B1", "SC7", NW, D(2024, 4, 1), D(2024, 7, 31), "附件2"),
]


def _brief(rows):
    return [
        (
            r["action_id"],
            r["target"],
            r["action"],
            r["business_id"],
            r["sub_channel_id"],
            r["scope"],
            r["start_date"],
            r["end_date"],
            r["clause"],
        )
        for r in rows
    ]


def test_control_actions_month_through_dagster_and_rerun(db_url, engine):
    """SPEC §6 end to end for 2024-03 on both databases; re-running the month gives identical rows (SPEC §9)."""
    _scenario(engine)
    result = materialize_selected(db_url, "monthly_job", "2024-03-01", [KEY])
    assert result.success
    rows = table_rows(engine, schema.control_actions)
    assert _brief(rows) == EXPECTED_MARCH
    assert {r["month"] for r in rows} == {D(2024, 3, 1)}
    assert {r["partner_id"] for r in rows if r["source_event_id"] == "N1"} == {"P2"}
    manual = [r for r in rows if r["action"] == "manual_per_issuer"][0]
    assert manual["issuer_requirement"] == "按拨测单位函件关停全网推广6个月"
    assert "按发函/拨测单位要求" in manual["reason"]

    mat = result.asset_materializations_for_node("control_actions")[0]
    assert mat.metadata["dagster/row_count"].value == len(EXPECTED_MARCH)
    preview = mat.metadata["preview"].value
    assert "rows by action" in preview and "rows by scope" in preview and "| NATIONWIDE | 6 |" in preview
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("control_actions_valid", True)]

    again = materialize_selected(db_url, "monthly_job", "2024-03-01", [KEY])
    assert again.success
    assert table_rows(engine, schema.control_actions) == rows


def test_asset_wiring():
    """The asset is monthly, single-run, in the control group, recomputed by the violation sensor's selection."""
    asset = defs.resolve_assets_def(KEY)
    spec = next(iter(asset.specs))
    assert asset.partitions_def.cron_schedule == "0 0 1 * *"
    assert asset.backfill_policy == dg.BackfillPolicy.single_run()
    assert spec.group_name == CONTROL and spec.owners
    assert VIOLATION_SENSITIVE.items() <= spec.tags.items()
    assert spec.metadata["partition_expr"] == "month" and spec.metadata["policy_article"] == "第八条/附件1–4"
    assert {d.asset_key.to_user_string() for d in spec.deps} == {"control_events", "partners"}
    assert KEY in defs.resolve_job_def("monthly_job").asset_layer.selected_asset_keys


def test_asset_check_flags_bad_rows(sqlite_url):
    """The check fails on a warning with an end date, a suspension ending before it starts, and a scope that is
    neither NATIONWIDE nor the source event's province (GD)."""
    engine = engine_for(sqlite_url)
    insert(engine, schema.control_events, [event("E1", "dial_test_provincial", D(2024, 3, 1), "GD")])

    def row(action_id, action, scope, start, end):
        return {
            **{"action_id": action_id, "partner_id": "P1", "month": D(2024, 3, 1), "business_id": "B1"},
            **{"sub_channel_id": None, "target": BIZ, "action": action, "scope": scope, "start_date": start},
            **{"end_date": end, "source_event_id": "E1", "issuer_requirement": None, "clause": "附件3"},
            "reason": "测试。",
        }

    insert(
        engine,
        schema.control_actions,
        [
            row("ok", SUS, "GD", D(2024, 3, 2), D(2024, 3, 2)),  # one-day suspension: fine
            row("w", "warning", NW, D(2024, 3, 1), D(2024, 3, 2)),
            row("s", SUS, NW, D(2024, 3, 2), D(2024, 3, 1)),
            row("p", SUS, "ZJ", D(2024, 3, 2), D(2024, 4, 1)),
        ],
    )
    result = control_actions_valid(warehouse=WarehouseResource(url=sqlite_url), policy=PolicyResource())
    assert not result.passed
    assert {k: v.value for k, v in result.metadata.items()} == {
        "suspension_period_invalid": 1,
        "open_row_with_end_date": 1,
        "unknown_action": 0,
        "scope_not_nationwide_or_event_province": 1,
    }
