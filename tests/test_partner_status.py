"""partner_status as of a day (第十条, 第八条, 附件1–4, 第十五条, 第十六至二十五条) and its refresh after monthly runs.

As of 2024-03-10 the complete months are those before March: February's grade, settlement and renewal rows count,
a March grade row (recomputed later) does not.
"""

import datetime as dt
from decimal import Decimal

import dagster as dg
from dagster_helpers import resources_for
from factories import insert, partner, table_rows

from migu_assets.assets.status import partner_status
from migu_assets.compute.status import partner_status_rows
from migu_assets.definitions import computed_assets, daily_job, defs, monthly_job
from migu_assets.sensors.status import build_status_refresh, computed_monthly_assets
from migu_assets.warehouse import schema

D = dt.date
AS_OF = D(2024, 3, 10)
D_MEASURES = "停止投放新业务代码、新产品或开展新类型合作；暂停话费计费能力或暂停客户端推广"


def _grade(pid, month, score, grade, measures, due_on):
    return {
        "partner_id": pid,
        "month": month,
        "credit_score": Decimal(score),
        "grade": grade,
        "measures": measures,
        "issued_on": D(2024, 3, 7),
        "due_on": due_on,
        "supersedes_month": None,
        "clause": f"第十条/{grade}",
        "reason": "测试",
    }


def _action(aid, start, end, action="suspend_promotion", month=D(2024, 2, 1)):
    return {
        "action_id": aid,
        "partner_id": "P1",
        "month": month,
        "business_id": "B1",
        "sub_channel_id": None,
        "target": "business",
        "action": action,
        "scope": "BJ",
        "start_date": start,
        "end_date": end,
        "source_event_id": aid,
        "issuer_requirement": None,
        "clause": "附件1",
        "reason": "测试",
    }


def _scenario(engine):
    insert(engine, schema.partners, [partner("P1", name="甲公司"), partner("P2", name="乙公司")])
    insert(
        engine,
        schema.credit_grades,
        [
            _grade("P1", D(2024, 1, 1), "620.00", "B", "", D(2024, 2, 21)),
            _grade("P1", D(2024, 2, 1), "420.50", "D", D_MEASURES, D(2024, 3, 14)),
            _grade("P1", D(2024, 3, 1), "900.00", "A", "", D(2024, 4, 15)),  # March is not complete on 03-10
        ],
    )
    insert(
        engine,
        schema.control_actions,
        [
            _action("E1", D(2024, 2, 21), D(2024, 3, 20)),  # in force on 03-10
            _action("E2", D(2024, 2, 9), D(2024, 3, 9)),  # ended the day before
            _action("E3", D(2024, 2, 15), None, action="warning"),  # open warning of the latest month
            _action("E4", D(2024, 1, 20), None, action="warning", month=D(2024, 1, 1)),  # January's: no longer
        ],
    )
    insert(
        engine,
        schema.warning_tiers,
        [
            {
                "partner_id": "P1",
                "month": D(2024, 2, 1),
                "tier": 1,
                "monthly_notifications": 5,
                "trigger_date": D(2024, 2, 20),
                "promotion_suspended_from": D(2024, 2, 21),
                "promotion_suspended_until": D(2024, 2, 27),  # over
                "code_suspended_from": D(2024, 2, 21),
                "code_suspended_until": D(2024, 3, 20),  # in force
                "clause": "附件7/一级预警",
                "reason": "测试",
            }
        ],
    )
    money = {k: Decimal("0.00") for k in ("gross", "partner_share", "deductions", "carried_in", "net", "payable",
                                          "held_in", "withheld", "released", "exit_deducted", "paid", "held_balance")}
    insert(
        engine,
        schema.settlements,
        [
            {"partner_id": "P1", "month": D(2024, 1, 1), **money, "carried_out": Decimal(0), "status": "payable",
             "clause": "第四条", "reason": "测试"},
            {"partner_id": "P1", "month": D(2024, 2, 1), **money, "carried_out": Decimal(0), "status": "held",
             "clause": "第十条/D", "reason": "测试"},
        ],
    )  # fmt: skip
    insert(
        engine,
        schema.contracts,
        [
            {"contract_id": cid, "partner_id": "P1", "start_date": D(2023, 1, 1), "end_date": end,
             "rights_delivered": True, "product_launched": True, "launch_blocked_by_partner": False,
             "qualification_ok": True, "exit_requested_on": None, "decision_on": None, "signed_on": None}
            for cid, end in (("C0", D(2023, 12, 31)), ("C1", D(2024, 3, 31)))
        ],
    )  # fmt: skip
    insert(
        engine,
        schema.renewal_decisions,
        [
            {"contract_id": "C0", "partner_id": "P1", "month": D(2023, 11, 1), "end_date": D(2023, 12, 31),
             "decision": "not_renewed", "reentry_banned_until": D(2024, 12, 31), "late_notice": False,
             "reasons": "第十七条：…", "clause": "第十七条"},
            {"contract_id": "C1", "partner_id": "P1", "month": D(2024, 2, 1), "end_date": D(2024, 3, 31),
             "decision": "renew", "reentry_banned_until": None, "late_notice": False,
             "reasons": "第二十三条：…", "clause": "第二十三条"},
        ],
    )  # fmt: skip


def test_partner_with_d_grade_and_active_control_action(sqlite_url):
    from migu_assets.warehouse.engine import engine_for

    engine = engine_for(sqlite_url)
    _scenario(engine)
    with engine.connect() as conn:
        rows = {r["partner_id"]: r for r in partner_status_rows(conn, AS_OF)}
    p1 = rows["P1"]
    assert (p1["latest_month"], p1["grade"], p1["credit_score"]) == (D(2024, 2, 1), "D", Decimal("420.50"))
    assert (p1["measures"], p1["measures_due_on"]) == (D_MEASURES, D(2024, 3, 14))
    assert p1["control_actions_in_force"] == (
        "业务B1警告（BJ，2024-02-15起，附件1）；业务B1暂停推广（BJ，2024-02-21至2024-03-20，附件1）"
    )
    assert p1["warnings_in_force"] == "附件7/一级预警（暂停业务代码新增至2024-03-20）"
    assert p1["settlement_status"] == "held"
    assert p1["renewal_decision"] == "renew"  # C1 is the latest contract; C0's refusal is history
    assert p1["reentry_banned_until"] == D(2024, 12, 31)  # C0's 第十七条 ban is still in force
    assert p1["reason"].startswith("2024年02月信用积分420.50分，评级D，须执行：停止投放新业务代码")
    assert "整改期限2024-03-14" in p1["reason"] and "最近结算（2024年02月）：暂停支付" in p1["reason"]
    assert "合同C1（2024-03-31到期）续约评估：续约（第二十三条）" in p1["reason"]

    p2 = rows["P2"]
    assert (p2["grade"], p2["control_actions_in_force"], p2["settlement_status"]) == (None, None, None)
    assert p2["reason"] == "暂无已完成月份的信用评级。"

    # A year later the ban is over, the actions have ended and March's A grade counts.
    with engine.connect() as conn:
        later = {r["partner_id"]: r for r in partner_status_rows(conn, D(2025, 1, 1))}["P1"]
    assert (later["grade"], later["measures_due_on"], later["reentry_banned_until"]) == ("A", None, None)
    assert later["control_actions_in_force"] is None and later["warnings_in_force"] is None


def test_partner_status_asset_replaces_all_rows(db_url, engine):
    _scenario(engine)
    config = {"ops": {"partner_status": {"config": {"as_of": AS_OF.isoformat()}}}}
    for _ in range(2):
        result = dg.materialize([partner_status], resources=resources_for(db_url), run_config=config)
        assert result.success
        rows = table_rows(engine, schema.partner_status)
        assert [(r["partner_id"], r["as_of"], r["grade"]) for r in rows] == [("P1", AS_OF, "D"), ("P2", AS_OF, None)]
    meta = result.asset_materializations_for_node("partner_status")[0].metadata
    assert meta["dagster/row_count"].value == 2
    assert meta["partners_by_grade"].value == {"D": 1, "未评级": 1}


# ---------------------------------------------------------------- refresh after monthly runs


def _status_refresh():
    return build_status_refresh(computed_assets, monthly_job.name)


def test_status_job_and_sensor_load_with_the_code_location():
    dg.Definitions.validate_loadable(defs)
    status_job = defs.resolve_job_def("status_job")
    # SPEC v2 §5a: the measure ledger is refreshed with the status page
    assert status_job.asset_layer.selected_asset_keys == {dg.AssetKey("partner_status"), dg.AssetKey("measure_ledger")}
    sensor = defs.resolve_sensor_def("partner_status_refresh_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def _run(job_name: str, selection=None) -> dg.DagsterRun:
    return dg.DagsterRun(job_name=job_name, run_id=f"run-{job_name}", asset_selection=selection)


def test_refresh_after_monthly_runs_only():
    _, (sensor,) = _status_refresh()
    monthly = {k for a in computed_assets if a.partitions_def == monthly_job.partitions_def for k in a.keys}
    assert computed_monthly_assets(_run("monthly_job"), monthly, "monthly_job")
    # the major-violation sensor's recomputation runs under an implicit asset job with a selection
    assert computed_monthly_assets(_run("__ASSET_JOB", frozenset({dg.AssetKey("renewal_decisions")})), monthly,
                                   "monthly_job")  # fmt: skip
    assert not computed_monthly_assets(_run(daily_job.name), monthly, "monthly_job")
    assert not computed_monthly_assets(_run("status_job", frozenset({dg.AssetKey("partner_status")})), monthly,
                                       "monthly_job")  # fmt: skip

    with dg.instance_for_test() as instance:
        for job_name, requested in (("monthly_job", True), ("daily_job", False)):
            run = instance.create_run_for_job(defs.resolve_job_def(job_name))
            event = dg.DagsterEvent(
                event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=job_name, message="done"
            )
            context = dg.build_run_status_sensor_context(
                sensor_name=sensor.name, dagster_event=event, dagster_instance=instance, dagster_run=run
            )
            out = sensor(context)
            if requested:
                assert isinstance(out, dg.RunRequest) and out.run_key == f"partner_status:{run.run_id}"
            else:
                assert isinstance(out, dg.SkipReason)
