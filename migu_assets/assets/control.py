"""第八条 附件1–4: control actions on promotion sub-channels and businesses (双重管控)."""

import sqlalchemy as sa

from migu_assets.assets._common import CONTROL
from migu_assets.assets.factory import Invariant, TableSpec, build
from migu_assets.compute import control as compute
from migu_assets.vocabulary import MANUAL_PER_ISSUER, NATIONWIDE, SUSPEND_PROMOTION, WARNING
from migu_assets.warehouse import schema


def _scope_not_event_province(a: sa.Table, _) -> sa.ColumnElement[bool]:
    e = schema.control_events
    event_province = sa.select(e.c.province).where(e.c.event_id == a.c.source_event_id).scalar_subquery()
    return sa.and_(a.c.scope != NATIONWIDE, sa.func.coalesce(event_province, "") != a.c.scope)


def _event_count(rows: list[dict]) -> dict:
    return {"events": len({r["source_event_id"] for r in rows})}


CONTROL_ACTIONS = TableSpec(
    table=schema.control_actions,
    compute=compute.control_action_rows,
    deps=["control_events", "partners"],
    group=CONTROL,
    article="第八条/附件1–4",
    description="""子渠道及业务双重管控（第八条、附件1–4）。

    Each control event of the month (省公司重要投诉 附件1, 重点督办投诉 附件2, 拨测/风控 附件3, 集团/文化投诉通报
    附件4) gives the sub-channel and business suspensions or warnings of its policy row, scoped to the province or
    nationwide, from event_date + 1 day to event_date + period (inclusive). Within a calendar month the business's
    escalating warnings suspend it longer, then all the partner's businesses (附件3 说明1, steps in the policy file);
    a sub-channel's k-th dial-test control lasts longer. An issuer's own requirement replaces the event's rows by
    one `manual_per_issuer` row (按发函/拨测单位要求).
    """,
    count_by=["action", "scope"],
    extra_metadata=_event_count,
    check_name="control_actions_valid",
    check_description=(
        "Suspensions have end_date ≥ start_date; warnings and issuer-requirement rows have no end_date; scope is "
        "NATIONWIDE or the source event's province code (a deleted or changed event shows as stale)."
    ),
    invariants=[
        Invariant(
            "suspension_period_invalid",
            lambda a, _: sa.and_(
                a.c.action == SUSPEND_PROMOTION, sa.or_(a.c.end_date.is_(None), a.c.end_date < a.c.start_date)
            ),
        ),
        Invariant(
            "open_row_with_end_date",
            lambda a, _: sa.and_(a.c.action.in_([WARNING, MANUAL_PER_ISSUER]), a.c.end_date.is_not(None)),
        ),
        Invariant("unknown_action", lambda a, _: a.c.action.not_in([SUSPEND_PROMOTION, WARNING, MANUAL_PER_ISSUER])),
        Invariant("scope_not_nationwide_or_event_province", _scope_not_event_province),
    ],
)

control_actions, (control_actions_valid,) = build(CONTROL_ACTIONS)
