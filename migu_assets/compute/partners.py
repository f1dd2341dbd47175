"""Which partners are scored in a month (SPEC §4.3): from the month of ``cooperation_start`` until terminated.

A partner is terminated from the month of its first major violation (第十二条/第十九条): it is still scored in that
month (its credit is set to 0 there) and not in any later month.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from migu_assets.rules.periods import as_date, next_month
from migu_assets.warehouse.schema import major_violations, partners


def first_violation_months(conn: sa.Connection, before: dt.date) -> dict[str, dt.date]:
    """partner_id → first day of the month of its earliest violation occurring before ``before``."""
    q = (
        sa.select(major_violations.c.partner_id, sa.func.min(major_violations.c.occurred_on).label("first"))
        .where(major_violations.c.occurred_on < before)
        .group_by(major_violations.c.partner_id)
    )
    out = {}
    for pid, first in conn.execute(q):
        out[pid] = as_date(first).replace(day=1)
    return out


def scored_partner_ids(conn: sa.Connection, month: dt.date) -> list[str]:
    """Partners scored in ``month``: cooperation started by its end, not terminated in an earlier month."""
    started = conn.execute(
        sa.select(partners.c.partner_id).where(partners.c.cooperation_start < next_month(month)).order_by("partner_id")
    ).scalars()
    terminated = first_violation_months(conn, month)
    return [pid for pid in started if pid not in terminated]
