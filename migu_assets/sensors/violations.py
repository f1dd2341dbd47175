"""major_violation_sensor: a newly recorded major violation (第十二条/第十九条) recomputes the credit chain.

The sensor polls ``major_violations`` by ``(recorded_at, violation_id)`` after its cursor, at most ``BATCH`` rows a
tick, and for each violation requests one run per month: the month of ``occurred_on`` and every later month already
materialised for ``credit_grades`` or ``settlements``, for every asset tagged ``migu/recompute_on_violation``
(health → importance → monthly and weighted credit → grades, control actions, settlements, renewals).

Which later months change: every one. The violation either stops settlement from its month on (第十九条,
``bad_credit_list = false``) or ends the cooperation on ``occurred_on`` (``true``: the clearing period, the 第十条注
lapse), and the settlement ledger carries ``held_balance`` forward, so every later settlements row of the partner
changes (its ``held_in`` at least) — also in a month whose credit chain was never computed but whose settlements
were, hence the union. The runs may execute in any order: each month's ledger is rebuilt from source tables
(``compute.settlement``), the violation's own month is graded TERMINATED from ``major_violations`` itself, and the
later months of the violating partner do not read its grades, so no run reads a stale result of another.

Run keys ``{violation_id}:{month}`` make a second
evaluation (or a cursor reset) request nothing twice. A violation whose month is not a partition yet (the current
month) is skipped with a log line: the monthly schedule computes that month when it is complete.
"""

import datetime as dt
import json

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import VIOLATION_SENSITIVE
from migu_assets.partitions import monthly_partitions
from migu_assets.resources import WarehouseResource
from migu_assets.warehouse.schema import major_violations

BATCH = 100
INTERVAL_SECONDS = 15


def _month_key(day: dt.date) -> str:
    return day.replace(day=1).isoformat()


def new_violations(engine: sa.Engine, cursor: dict | None, limit: int = BATCH) -> list[sa.Row]:
    """Violations recorded after the cursor, oldest first."""
    v = major_violations
    q = sa.select(v.c.violation_id, v.c.partner_id, v.c.occurred_on, v.c.recorded_at)
    if cursor:
        after = dt.datetime.fromisoformat(cursor["recorded_at"])
        q = q.where(
            sa.or_(
                v.c.recorded_at > after,
                sa.and_(v.c.recorded_at == after, v.c.violation_id > cursor["violation_id"]),
            )
        )
    with engine.connect() as conn:
        return list(conn.execute(q.order_by(v.c.recorded_at, v.c.violation_id).limit(limit)))


def build_major_violation_sensor(assets) -> dg.SensorDefinition:
    tag_key, tag_value = next(iter(VIOLATION_SENSITIVE.items()))
    keys = [
        key
        for a in assets
        if a.partitions_def == monthly_partitions
        for key in a.keys
        if a.tags_by_key.get(key, {}).get(tag_key) == tag_value
    ]
    # months already computed: of the credit chain, and of the settlement ledger (whose balance a violation changes)
    watched = [k for k in (dg.AssetKey("credit_grades"), dg.AssetKey("settlements")) if k in keys]

    @dg.sensor(
        name="major_violation_sensor",
        target=dg.AssetSelection.assets(*keys),
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="新记录的重大违规（附件8）触发所在月份及其后已计算月份的信用链路重算（第十二条、第十九条）。",
    )
    def major_violation_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        cursor = json.loads(context.cursor) if context.cursor else None
        rows = new_violations(warehouse.engine, cursor)
        if not rows:
            return dg.SkipReason("no new major violation recorded")
        valid = set(monthly_partitions.get_partition_keys(dynamic_partitions_store=context.instance))
        materialised: set[str] = set()
        for key in watched:
            materialised |= set(context.instance.get_materialized_partitions(key))
        requests = []
        for violation_id, partner_id, occurred_on, _ in rows:
            first = _month_key(occurred_on)
            months = sorted({first} | {m for m in materialised if m >= first})
            months = [m for m in months if m in valid]
            if not months:
                context.log.info(f"{violation_id} ({partner_id}, {occurred_on}): month {first} is not complete yet")
                continue
            context.log.info(f"{violation_id} ({partner_id}, {occurred_on}): recomputing {', '.join(months)}")
            requests.extend(
                dg.RunRequest(
                    run_key=f"{violation_id}:{month}",
                    partition_key=month,
                    asset_selection=keys,
                    tags={"migu/violation_id": violation_id, "migu/partner_id": partner_id},
                )
                for month in months
            )
        last = rows[-1]
        new_cursor = {"recorded_at": last.recorded_at.isoformat(), "violation_id": last.violation_id}
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor))

    return major_violation_sensor
