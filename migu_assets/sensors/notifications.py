"""Notifications to staff (issue 16): three sensors tell the configured channels about four events

- ``results_notification_sensor``: a run that computed ``credit_grades`` succeeded → per month, counts per grade
  and the partners newly at C–F; when the run is a major-violation recomputation (tag ``migu/violation_id``) it
  reports instead that the violation was processed and the partner is TERMINATED (one message per violation);
- ``measures_overdue_notification_sensor``: once a day, the measures the measure ledger shows overdue, each once;
  hourly, it also sends again what any sensor failed to deliver (run-status sensors see each run only once);
- ``run_failure_notification_sensor``: Dagster's run-failure sensor, one message per failed run.

Sensors only read the warehouse and send: they request no run, so a failed channel can never fail a computation.
Each delivery is deduplicated in the ``notifications`` table (see :mod:`migu_assets.notify.delivery`). Without a
configured channel every sensor skips at once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from migu_assets.notify import Budget, ConfigError, NotifyConfig, retry_failed, send_event
from migu_assets.notify import events as ev
from migu_assets.notify.resource import NotifierResource
from migu_assets.resources import WarehouseResource
from migu_assets.rules.periods import months_between

GRADES = dg.AssetKey("credit_grades")
VIOLATION_TAG = "migu/violation_id"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
SHANGHAI = ZoneInfo("Asia/Shanghai")
RETRY_INTERVAL_SECONDS = 3600  # the overdue check runs once a day; failed deliveries are retried hourly


def _config(notifier: NotifierResource) -> NotifyConfig | str:
    """The configuration, or why there is nothing to send."""
    try:
        config = notifier.load()
    except ConfigError as exc:
        return f"通知配置错误：{exc}"
    return config if config.channels else "未配置通知渠道"


def run_months(run: dg.DagsterRun) -> list[dt.date]:
    """The months a monthly run computed, from its partition tags."""
    tags = run.tags
    if tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
        first, last = tags[RANGE_START_TAG], tags[RANGE_END_TAG]
    elif tags.get(PARTITION_TAG):
        first = last = tags[PARTITION_TAG]
    else:
        return []
    try:
        return months_between(dt.date.fromisoformat(first[:10]), dt.date.fromisoformat(last[:10]))
    except ValueError:  # a daily or foreign partition key
        return []


def computed_grades(run: dg.DagsterRun, monthly_job_name: str) -> bool:
    """A run of the whole monthly job (no asset selection) or one whose selection includes credit_grades."""
    if run.asset_selection:
        return GRADES in run.asset_selection
    return run.job_name == monthly_job_name


def notify_results(run: dg.DagsterRun, warehouse: WarehouseResource, config: NotifyConfig) -> str:
    """Send the run's events; returns a one-line summary."""
    summaries = []
    budget = Budget()  # one budget for the whole evaluation: a dead channel is tried once, not once per month
    with warehouse.engine.connect() as conn:
        if run.tags.get(VIOLATION_TAG):
            events = [ev.major_violation(conn, run.tags[VIOLATION_TAG], run.run_id)]
        else:
            events = [ev.results_computed(conn, month, run.run_id) for month in run_months(run)]
    for event in events:
        if event is not None:
            summaries.append(f"{event.title}：{send_event(warehouse.engine, config, event, budget).summary()}")
    return "；".join(summaries) or "无需通知的事件"


def today_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def build_notification_sensors(monthly_job_name: str = "monthly_job") -> list:
    @dg.run_status_sensor(
        name="results_notification_sensor",
        run_status=dg.DagsterRunStatus.SUCCESS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="信用积分结果计算完成（各级别数量、新增C–F级合作方）及重大违规处理完成（终止合作）时通知。",
    )
    def results_notification_sensor(
        context: dg.RunStatusSensorContext, warehouse: WarehouseResource, notifier: NotifierResource
    ):
        run = context.dagster_run
        if not computed_grades(run, monthly_job_name):
            return dg.SkipReason(f"run {run.run_id} did not compute credit_grades")
        config = _config(notifier)
        if isinstance(config, str):
            return dg.SkipReason(config)
        summary = notify_results(run, warehouse, config)
        context.log.info(summary)
        return dg.SkipReason(summary)

    @dg.run_failure_sensor(
        name="run_failure_notification_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Dagster 运行失败时通知运维人员（附运行链接）。",
    )
    def run_failure_notification_sensor(
        context: dg.RunFailureSensorContext, warehouse: WarehouseResource, notifier: NotifierResource
    ):
        config = _config(notifier)
        if isinstance(config, str):
            return dg.SkipReason(config)
        run = context.dagster_run
        partition = run.tags.get(PARTITION_TAG) or (
            f"{run.tags[RANGE_START_TAG]}..{run.tags[RANGE_END_TAG]}" if run.tags.get(RANGE_START_TAG) else None
        )
        event = ev.run_failure(run.run_id, run.job_name, partition, context.failure_event.message)
        summary = send_event(warehouse.engine, config, event, Budget()).summary()
        context.log.info(summary)
        return dg.SkipReason(summary)

    @dg.sensor(
        name="measures_overdue_notification_sensor",
        minimum_interval_seconds=RETRY_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="每日一次：处置措施台账中逾期未执行的措施（第十四条），每项只通知一次；每小时重发此前发送失败的通知。",
    )
    def measures_overdue_notification_sensor(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource, notifier: NotifierResource
    ):
        config = _config(notifier)
        if isinstance(config, str):
            return dg.SkipReason(config)
        budget = Budget()
        retried = retry_failed(warehouse.engine, config.channels, budget)
        notes = [f"重发：{retried.summary()}"] if retried.sent or retried.failed else []
        today = today_shanghai().isoformat()
        if context.cursor == today:
            return dg.SkipReason("；".join([*notes, f"already checked on {today}"]))
        with warehouse.engine.connect() as conn:
            event = ev.measures_overdue(conn)
        report = send_event(warehouse.engine, config, event, budget)
        # the day is done once the overdue list was read and handed to every channel; a failed delivery is in the
        # notifications table and sent again by the hourly retry above
        return dg.SensorResult(skip_reason="；".join([*notes, f"逾期措施：{report.summary()}"]), cursor=today)

    return [results_notification_sensor, run_failure_notification_sensor, measures_overdue_notification_sensor]
