"""Delivery (issue 16) on SQLite and PostgreSQL: each event item is sent once per channel (dedup keys in the
`notifications` table), a failed delivery is recorded and sent at a later tick (at least once), and the sensors
report a month's results, a processed major violation, overdue measures (once a day, each once) and run failures —
while a dead channel fails neither the sensor nor the computation run."""

from __future__ import annotations

import datetime as dt
import socket
from decimal import Decimal

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_helpers import defs_for, materialize_range
from factories import insert, partner, violation
from test_notify import fast_retry, platforms  # noqa: F401 — the local stand-in for the HTTP platforms
from test_report import scenario

from migu_assets.notify import dispatch
from migu_assets.notify import events as ev
from migu_assets.notify.channels import WebhookChannel
from migu_assets.notify.delivery import CHUNK, MAX_ATTEMPTS, Item
from migu_assets.notify.resource import NotifierResource, notifier_from_env
from migu_assets.resources import WarehouseResource
from migu_assets.sensors import notifications as sensors
from migu_assets.warehouse import schema

D = dt.date


def rows(engine) -> list[dict]:
    n = schema.notifications
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(n).order_by(n.c.channel, n.c.dedup_key)).mappings()]


def hook(platforms, name="ops", attempts=2):  # noqa: F811
    return WebhookChannel(name, platforms.url(f"/{name}"), retry=fast_retry(attempts=attempts))


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ dedup and retry, both databases


def test_each_item_is_sent_once_per_channel(engine, platforms):  # noqa: F811
    channels = [hook(platforms, "a"), hook(platforms, "b")]
    items = [Item("k1", "第一项"), Item("k2", "第二项")]
    report = dispatch(engine, channels, "measures_overdue", "标题", items)
    assert report.sent == {"a": 2, "b": 2}
    assert len(platforms.requests) == 2
    again = dispatch(engine, channels, "measures_overdue", "标题", items + [Item("k3", "第三项")])
    assert again.sent == {"a": 1, "b": 1} and again.skipped == {"a": 2, "b": 2}
    assert [r.body["lines"] for r in platforms.requests[2:]] == [["第三项"], ["第三项"]]  # only the new item
    assert {(r["channel"], r["dedup_key"], r["status"], r["attempts"]) for r in rows(engine)} == {
        (c, k, "sent", 1) for c in "ab" for k in ("k1", "k2", "k3")
    }
    # a third call sends nothing at all
    assert dispatch(engine, channels, "measures_overdue", "标题", items).sent == {}
    assert len(platforms.requests) == 4


def test_a_failed_delivery_is_recorded_and_sent_at_the_next_tick(engine, platforms):  # noqa: F811
    platforms.script = [("status", 503), ("status", 503)]  # both tries of the first delivery fail
    items = [Item("run_failure:r1", "作业 monthly_job 失败")]
    first = dispatch(engine, [hook(platforms)], "run_failure", "Dagster 运行失败", items)
    assert "HTTP 503" in first.failed["ops"]
    (row,) = rows(engine)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("failed", 1, None)
    assert "HTTP 503" in row["error"] and "作业 monthly_job 失败" in row["message"]
    second = dispatch(engine, [hook(platforms)], "run_failure", "Dagster 运行失败", items)
    assert second.sent == {"ops": 1}
    (row,) = rows(engine)
    assert (row["status"], row["attempts"], row["error"]) == ("sent", 2, None) and row["sent_at"]
    assert row["created_at"] <= row["sent_at"]
    assert len(platforms.requests) == 3  # 2 failed tries + the delivery


def test_an_item_is_given_up_after_max_attempts(engine, platforms):  # noqa: F811
    channel = WebhookChannel("dead", f"http://127.0.0.1:{dead_port()}/x", retry=fast_retry(attempts=1))
    for _ in range(MAX_ATTEMPTS + 2):
        dispatch(engine, [channel], "run_failure", "t", [Item("k", "x")])
    (row,) = rows(engine)
    assert row["attempts"] == MAX_ATTEMPTS and row["status"] == "failed"


def test_many_items_go_in_chunks(engine, platforms):  # noqa: F811
    items = [Item(f"measure_overdue:m{i:03d}", f"措施{i}") for i in range(CHUNK * 2 + 5)]
    dispatch(engine, [hook(platforms)], "measures_overdue", "处置措施逾期未执行", items)
    titles = [r.body["title"] for r in platforms.requests]
    assert titles == [f"处置措施逾期未执行（{i}/3）" for i in (1, 2, 3)]
    assert sum(len(r.body["dedup_keys"]) for r in platforms.requests) == len(items) == len(rows(engine))


def test_a_channel_filter_and_a_dead_channel_do_not_stop_the_others(engine, platforms):  # noqa: F811
    only_runs = WebhookChannel("runs", platforms.url("/runs"), events=["run_failure"], retry=fast_retry())
    dead = WebhookChannel("dead", f"http://127.0.0.1:{dead_port()}/x", retry=fast_retry(attempts=2))
    report = dispatch(engine, [dead, only_runs, hook(platforms)], "results_computed", "t", [Item("k", "x")])
    assert report.sent == {"ops": 1} and "连接失败" in report.failed["dead"]
    assert [r.path for r in platforms.requests] == ["/ops"]


# ------------------------------------------------------------------ events read from the warehouse


def grade(pid, month, g, score="500.00", supersedes=None) -> dict:
    return {
        "partner_id": pid,
        "month": month,
        "credit_score": Decimal(score),
        "grade": g,
        "measures": "",
        "issued_on": D(2024, 4, 8),
        "due_on": D(2024, 4, 15),
        "supersedes_month": supersedes,
        "clause": f"第十条/{g}",
        "reason": "测试",
    }


def test_results_computed_counts_grades_and_names_new_c_to_f_partners(engine):
    insert(engine, schema.partners, [partner(p) for p in ("P1", "P2", "P3", "P4")])
    feb, mar = D(2024, 2, 1), D(2024, 3, 1)
    insert(
        engine,
        schema.credit_grades,
        [grade("P1", feb, "C"), grade("P1", mar, "D"), grade("P2", mar, "A", "900.00"), grade("P3", mar, "F", "100.00")]
        + [grade("P4", mar, "A", "850.00")],
    )
    with engine.connect() as conn:
        event = ev.results_computed(conn, mar, "run-1")
        assert ev.results_computed(conn, D(2024, 5, 1)) is None
    assert event.title == "2024年3月信用积分结果已计算" and event.link_path == "runs/run-1"
    (item,) = event.items
    assert item.line.splitlines() == [
        "评级分布（共4家）：A级2家，D级1家，F级1家",
        "新进入C–F级/终止合作的合作方1家：P3（测试合作方P3，F级，100.00分）",  # P1 was already C in February
    ]
    assert item.key.startswith("results_computed:2024-03:")
    # the same results again: the same key (nothing re-sent); a changed result: a new key
    with engine.connect() as conn:
        assert ev.results_computed(conn, mar).items[0].key == item.key
    with engine.begin() as conn:
        conn.execute(schema.credit_grades.update().where(schema.credit_grades.c.partner_id == "P4").values(grade="C"))
    with engine.connect() as conn:
        assert ev.results_computed(conn, mar).items[0].key != item.key


def ledger_table(engine) -> sa.Table:
    """The warehouse's measure_ledger (SPEC v2 §5a), emptied for the test."""
    with engine.begin() as conn:
        conn.execute(schema.measure_ledger.delete())
    return schema.measure_ledger


def measure(mid, pid, status, as_of=D(2024, 4, 20), overdue=3) -> dict:
    return {
        "measure_id": mid,
        "partner_id": pid,
        "month": D(2024, 3, 1),
        "source": "grade",
        "code": "stop_new_business",
        "due_on": D(2024, 4, 15),
        "ends_on": None,
        "clause": "第十条/D",
        "reason": "停止投放新业务代码、新产品或开展新类型合作",
        "as_of": as_of,
        "executed_on": None,
        "executed_by": None,
        "superseded_by_month": None,
        "lifted_by_month": None,
        "lapsed_on": None,
        "status": status,
        "lifecycle": "active",
        "working_days_overdue": overdue if status == "overdue" else None,
    }


def sensor_resources(db_url, platforms, **fields) -> dict:  # noqa: F811
    return {
        "warehouse": WarehouseResource(url=db_url),
        "notifier": NotifierResource(
            webhook_url=platforms.url("/ops"), backoff_seconds=0.01, timeout_seconds=2, **fields
        ),
    }


def test_no_measure_ledger_reports_nothing(engine):
    """Before issue 13's measure_ledger exists (and while it is empty) the overdue event says nothing."""
    with engine.connect() as conn:
        assert ev.overdue_measures(conn) == []
        assert ev.measures_overdue(conn) is None


def test_overdue_measures_once_a_day_each_measure_once(db_url, engine, platforms, monkeypatch):  # noqa: F811
    table = ledger_table(engine)
    try:
        insert(
            engine,
            table,
            [measure("grade:P1:2024-03:stop_new_business", "P1", "overdue"), measure("m-open", "P2", "open")],
        )
        insert(
            engine, table, [measure("m-old", "P9", "overdue", as_of=D(2024, 4, 19))]
        )  # an older as_of: not today's ledger
        sensor = next(s for s in defs_for(db_url).sensors if s.name == "measures_overdue_notification_sensor")
        res = sensor_resources(db_url, platforms, ui_base_url="http://ui")
        result = sensor(dg.build_sensor_context(cursor=None, resources=res))
        today = sensors.today_shanghai().isoformat()
        assert result.cursor == today
        (req,) = platforms.requests
        assert req.body["title"] == "处置措施逾期未执行：1项"
        assert req.body["lines"] == [
            "P1 2024-03：停止投放新业务代码、新产品或开展新类型合作（最迟2024-04-15执行，已逾期3个工作日）〔第十条/D〕"
        ]
        assert req.body["dedup_keys"] == ["measure_overdue:grade:P1:2024-03:stop_new_business"]
        assert req.body["link"] == "http://ui/assets/measure_ledger"
        # the same day: nothing evaluated; a cursor reset: evaluated, but the measure was already reported
        assert "already checked" in sensor(dg.build_sensor_context(cursor=today, resources=res)).skip_message
        sensor(dg.build_sensor_context(cursor=None, resources=res))
        assert len(platforms.requests) == 1
        insert(engine, table, [measure("m-new", "P2", "overdue", overdue=1)])
        sensor(dg.build_sensor_context(cursor="2000-01-01", resources=res))
        assert platforms.requests[-1].body["dedup_keys"] == ["measure_overdue:m-new"]
        # a failed delivery is recorded; the next (hourly) tick sends it again, the day's check is not repeated
        insert(engine, table, [measure("m-later", "P3", "overdue")])
        platforms.script = [("status", 500)] * 3
        failed = sensor(dg.build_sensor_context(cursor="2000-01-01", resources=res))
        assert failed.cursor == today and "失败" in failed.skip_reason.skip_message
        assert len(platforms.requests) == 5  # 3 tries of the failed delivery
        retried = sensor(dg.build_sensor_context(cursor=today, resources=res))
        assert "重发：webhook: 发送1项" in retried.skip_message
        assert platforms.requests[-1].body["dedup_keys"] == ["measure_overdue:m-later"]
        assert platforms.requests[-1].body["link"] == "http://ui/assets/measure_ledger"
        assert sensor(dg.build_sensor_context(cursor=today, resources=res)).skip_message.startswith("already checked")
        assert len(platforms.requests) == 6
    finally:
        with engine.begin() as conn:
            conn.execute(table.delete())


# ------------------------------------------------------------------ sensors on real runs (SQLite)


@pytest.fixture(scope="module")
def computed_once(tmp_path_factory):
    """The report scenario computed once into a test instance (SQLite). The major-violation test, last in this
    file, recomputes March with P4 TERMINATED."""
    from migu_assets.warehouse import migrate
    from migu_assets.warehouse.engine import engine_for

    root = tmp_path_factory.mktemp("notify")
    url = f"sqlite:///{root / 'warehouse.db'}"
    engine = engine_for(url)
    migrate.upgrade(engine)
    scenario(engine)
    with pytest.MonkeyPatch.context() as mp, dg.instance_for_test() as instance:
        mp.setenv("MIGU_HOME", str(root / "home"))
        assert materialize_range(url, "daily_job", "2024-01-01", "2024-03-31", instance=instance).success
        result = materialize_range(url, "monthly_job", "2024-01-01", "2024-03-01", instance=instance)
        assert result.success
        yield {"url": url, "engine": engine, "instance": instance, "run": instance.get_run_by_id(result.run_id)}
    engine.dispose()


@pytest.fixture
def computed(computed_once, tmp_path, monkeypatch):
    monkeypatch.setenv("MIGU_HOME", str(tmp_path / "home"))
    with computed_once["engine"].begin() as conn:
        conn.execute(schema.notifications.delete())
    return computed_once


def success_event(instance, run_id):
    (record,) = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    return record.event_log_entry.dagster_event


def test_results_sensor_reports_each_month_of_the_run_and_survives_a_dead_channel(computed, platforms):  # noqa: F811
    instance, run = computed["instance"], computed["run"]
    sensor = next(s for s in defs_for(computed["url"]).sensors if s.name == "results_notification_sensor")
    res = {
        "warehouse": WarehouseResource(url=computed["url"]),
        "notifier": NotifierResource(
            webhook_url=platforms.url("/ops"),
            wecom_url=f"http://127.0.0.1:{dead_port()}/x",
            ui_base_url="http://ui",
            backoff_seconds=0.01,
        ),
    }

    def evaluate():
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=success_event(instance, run.run_id),
            resources=res,
        )
        return sensor(context)

    result = evaluate()  # the dead WeCom URL is tried (with retries) once, recorded, never raised
    assert "失败" in result.skip_message
    titles = [r.body["title"] for r in platforms.requests]
    assert titles == ["2024年1月信用积分结果已计算", "2024年2月信用积分结果已计算", "2024年3月信用积分结果已计算"]
    march = platforms.requests[-1].body
    assert march["lines"] == [
        "评级分布（共4家）：A级2家，D级1家，F级1家",
        "新进入C–F级/终止合作的合作方1家：P3（=cmd|' /C calc'!A0，F级，100.00分）",  # P1 was C in February already
    ]
    assert march["link"] == f"http://ui/runs/{run.run_id}"
    evaluate()  # the sensor sees the same run again: nothing re-sent on the working channel
    assert len(platforms.requests) == 3
    statuses = {(r["channel"], r["status"]) for r in rows(computed["engine"])}
    assert statuses == {("webhook", "sent"), ("wecom", "failed")}
    # WeCom comes back: the hourly sweep (measures_overdue_notification_sensor) sends the three recorded messages
    sweep = next(s for s in defs_for(computed["url"]).sensors if s.name == "measures_overdue_notification_sensor")
    back = {
        "warehouse": res["warehouse"],
        "notifier": NotifierResource(wecom_url=platforms.url("/cgi-bin/webhook/send?key=K"), backoff_seconds=0.01),
    }
    sweep(dg.build_sensor_context(cursor=sensors.today_shanghai().isoformat(), resources=back))
    wecom = [r.body["markdown"]["content"] for r in platforms.requests if r.path == "/cgi-bin/webhook/send"]
    assert [c.splitlines()[0] for c in wecom] == [f"**【联合会员】2024年{m}月信用积分结果已计算**" for m in (1, 2, 3)]
    assert wecom[-1].endswith(f"[在 Dagster 中查看](http://ui/runs/{run.run_id})")
    assert {(r["channel"], r["status"]) for r in rows(computed["engine"])} == {("webhook", "sent"), ("wecom", "sent")}


def test_major_violation_recomputation_is_reported_once(computed, platforms):  # noqa: F811
    engine, instance, url = computed["engine"], computed["instance"], computed["url"]
    insert(
        engine,
        schema.major_violations,
        [violation("V1", "P4", D(2024, 3, 20))],
    )
    with engine.connect() as conn:
        assert ev.major_violation(conn, "V1") is None  # not processed yet: nothing to say
    job = defs_for(url).resolve_job_def("monthly_job")
    result = job.execute_in_process(instance=instance, partition_key="2024-03-01", tags={"migu/violation_id": "V1"})
    run = instance.get_run_by_id(result.run_id)
    sensor = next(s for s in defs_for(url).sensors if s.name == "results_notification_sensor")
    for _ in range(2):
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=success_event(instance, run.run_id),
            resources=sensor_resources(url, platforms),
        )
        sensor(context)
    (req,) = platforms.requests
    assert req.body["event"] == "major_violation" and req.body["title"] == "重大违规已处理：P4终止合作"
    assert req.body["lines"][0].startswith("重大违规V1（附件8第3项，2024-03-20）：合作方P4")
    assert "终止合作（第十二条），停止结算（第十九条）" in req.body["lines"][0]
    assert req.body["dedup_keys"] == ["major_violation:V1"]


def test_run_failure_sensor_reports_a_failed_run_once(sqlite_url, platforms):  # noqa: F811
    @dg.op
    def boom():
        raise RuntimeError("数据库连接中断")

    @dg.job(name="monthly_job")
    def failing():
        boom()

    sensor = next(s for s in defs_for(sqlite_url).sensors if s.name == "run_failure_notification_sensor")
    with dg.instance_for_test() as instance:
        result = failing.execute_in_process(
            instance=instance, raise_on_error=False, tags={"dagster/partition": "2024-03-01"}
        )
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        (record,) = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        for _ in range(2):
            context = dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_instance=instance,
                dagster_run=run,
                dagster_event=record.event_log_entry.dagster_event,
                resources=sensor_resources(sqlite_url, platforms, ui_base_url="http://ui"),
            ).for_run_failure()
            sensor(context)
    (req,) = platforms.requests
    assert req.body["title"] == "Dagster 运行失败：monthly_job"
    assert req.body["lines"][0].startswith(f"作业 monthly_job，运行 {run.run_id}，分区 2024-03-01")
    assert req.body["link"] == f"http://ui/runs/{run.run_id}"


def test_sensors_skip_without_channels_and_secrets_come_from_env_vars(sqlite_url, monkeypatch, platforms):  # noqa: F811
    sensor = next(s for s in defs_for(sqlite_url).sensors if s.name == "measures_overdue_notification_sensor")
    empty = {"warehouse": WarehouseResource(url=sqlite_url), "notifier": NotifierResource()}
    assert sensor(dg.build_sensor_context(cursor=None, resources=empty)).skip_message == "未配置通知渠道"
    monkeypatch.setenv("MIGU_NOTIFY_WECOM_URL", platforms.url("/cgi-bin/webhook/send?key=SECRET"))
    resource = notifier_from_env()
    assert isinstance(resource.wecom_url, dg.EnvVar)  # the secret is a reference, not a value in the config
    context = dg.build_sensor_context(resources={"warehouse": WarehouseResource(url=sqlite_url), "notifier": resource})
    config = context.resources.notifier.load()
    assert [c.kind for c in config.channels] == ["wecom"] and config.channels[0].url.endswith("key=SECRET")


def test_definitions_carry_the_notices_asset_the_sensors_and_an_unconfigured_notifier(monkeypatch):
    for var in ("MIGU_NOTIFY_CONFIG", "MIGU_NOTIFY_WEBHOOK_URL", "MIGU_NOTIFY_WECOM_URL", "MIGU_NOTIFY_DINGTALK_URL"):
        monkeypatch.delenv(var, raising=False)
    from migu_assets.definitions import build_definitions

    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    node = defs.resolve_asset_graph().get(dg.AssetKey("notices"))
    assert node.group_name == "reporting" and node.partitions_def.cron_schedule == "0 0 1 * *"
    assert {k.to_user_string() for k in node.parent_keys} == {
        "credit_grades",
        "warning_tiers",
        "control_actions",
        "settlements",
    }
    assert dg.AssetKey("notices") in defs.resolve_job_def("notices_job").asset_layer.executable_asset_keys
    assert dg.AssetKey("notices") not in defs.resolve_job_def("monthly_job").asset_layer.executable_asset_keys
    names = {s.name for s in defs.sensors}
    assert {
        "results_notification_sensor",
        "run_failure_notification_sensor",
        "measures_overdue_notification_sensor",
    } <= names
    assert NotifierResource().load().channels == []  # nothing enabled by default
