"""Control actions of one month (第八条, 附件1–4; SPEC §6): one read of the month's events + the pure rules."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from migu_assets.compute import row_of
from migu_assets.policy import PolicyBook
from migu_assets.rules.control import ControlEvent, control_actions
from migu_assets.rules.periods import as_date, next_month
from migu_assets.warehouse.schema import control_events as events


def month_events(conn: sa.Connection, month: dt.date) -> list[ControlEvent]:
    """The ``control_events`` with ``event_date`` in ``month``, in (event_date, event_id) order (one query)."""
    q = (
        sa.select(
            events.c.event_id,
            events.c.partner_id,
            events.c.business_id,
            events.c.sub_channel_id,
            events.c.event_type,
            events.c.province,
            events.c.event_date,
            events.c.issuer_requirement,
        )
        .where(events.c.event_date >= month, events.c.event_date < next_month(month))
        .order_by(events.c.event_date, events.c.event_id)
    )
    return [ControlEvent(**{**row, "event_date": as_date(row["event_date"])}) for row in conn.execute(q).mappings()]


def control_action_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``control_actions`` rows for ``month``: every action of the events dated in the month.

    Escalation counts are per calendar month, so a month needs only its own events and months are independent.
    """
    policy = book.for_month(month)
    return [row_of(a) for a in control_actions(month_events(conn, month), policy.control)]
