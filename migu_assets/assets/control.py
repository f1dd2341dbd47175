"""第八条 附件1–4: control actions on promotion sub-channels and businesses (双重管控)."""

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import (
    CONTROL,
    OWNERS,
    VIOLATION_SENSITIVE,
    WAREHOUSE_RETRY,
    materialization_metadata,
    write_months,
)
from migu_assets.compute import control as compute
from migu_assets.partitions import monthly_partitions
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.rules.control import MANUAL, NATIONWIDE, SUSPEND, WARNING
from migu_assets.warehouse import schema


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["control_events", "partners"],
    group_name=CONTROL,
    retry_policy=WAREHOUSE_RETRY,
    owners=OWNERS,
    kinds={"sql", "python"},
    metadata={"partition_expr": "month", "policy_article": "第八条/附件1–4"},
    tags=VIOLATION_SENSITIVE,
)
def control_actions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
) -> dg.MaterializeResult:
    """子渠道及业务双重管控（第八条、附件1–4）。

    Each control event of the month (省公司重要投诉 附件1, 重点督办投诉 附件2, 拨测/风控 附件3, 集团/文化投诉通报
    附件4) gives the sub-channel and business suspensions or warnings of its policy row, scoped to the province or
    nationwide, from event_date + 1 day to event_date + period (inclusive). Within a calendar month the business's
    3rd warning suspends it 15 days, the 4th 1 month, the 5th and later suspend all the partner's businesses 1
    month (附件3 说明1); a sub-channel's k-th dial-test control lasts k − 1 more months. An issuer's own
    requirement replaces the event's rows by one `manual_per_issuer` row (按发函/拨测单位要求).
    """
    rows, per_month = write_months(context, warehouse, policy, schema.control_actions, compute.control_action_rows)
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.control_actions,
            rows,
            per_month=per_month,
            count_by=["action", "scope"],
            extra={"events": len({r["source_event_id"] for r in rows})},
        )
    )


@dg.asset_check(
    asset=control_actions,
    description=(
        "Suspensions have end_date ≥ start_date; warnings and issuer-requirement rows have no end_date; scope is "
        "NATIONWIDE or the source event's province code (a deleted or changed event shows as stale)."
    ),
)
def control_actions_valid(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    a, e = schema.control_actions, schema.control_events
    event_province = sa.select(e.c.province).where(e.c.event_id == a.c.source_event_id).scalar_subquery()
    problems = {
        "suspension_period_invalid": sa.and_(
            a.c.action == SUSPEND, sa.or_(a.c.end_date.is_(None), a.c.end_date < a.c.start_date)
        ),
        "open_row_with_end_date": sa.and_(a.c.action.in_([WARNING, MANUAL]), a.c.end_date.is_not(None)),
        "unknown_action": a.c.action.not_in([SUSPEND, WARNING, MANUAL]),
        "scope_not_nationwide_or_event_province": sa.and_(
            a.c.scope != NATIONWIDE, sa.func.coalesce(event_province, "") != a.c.scope
        ),
    }
    with warehouse.engine.connect() as conn:
        counts = {
            name: int(conn.execute(sa.select(sa.func.count()).where(cond)).scalar_one())
            for name, cond in problems.items()
        }
    return dg.AssetCheckResult(passed=not any(counts.values()), metadata=counts)
