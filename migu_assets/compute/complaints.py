"""Daily complaint counts, monthly warning tiers and health scores (第七条, 第八条, 附件5–7)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from migu_assets.compute import row_of
from migu_assets.compute.partners import scored_partner_ids
from migu_assets.policy import ComplaintRules, PolicyBook
from migu_assets.rules import health as health_rules
from migu_assets.rules.complaints import notifications_for
from migu_assets.rules.periods import as_date, months_between, next_month
from migu_assets.rules.warnings import tiers_reached
from migu_assets.warehouse.schema import complaint_tickets as tickets
from migu_assets.warehouse.schema import daily_complaint_counts as daily

UNINFORMED = "uninformed_subscription"



def notifications_sql(complaints: sa.ColumnElement[int], rules: ComplaintRules) -> sa.ColumnElement[int]:
    """:func:`~migu_assets.rules.complaints.notifications_for` as a SQL expression (第七条, 附件6): 0 below the
    threshold, else 1 + (complaints − threshold) ÷ step in integer division — exact on both databases, since the
    dividend is never negative where it is used (``tests/test_complaints_sql.py`` holds the two forms equal)."""
    threshold, step = rules.notification_threshold, rules.notification_step
    return sa.case(
        (complaints < threshold, sa.literal(0, sa.Integer)),
        else_=1 + sa.cast((complaints - threshold) // step, sa.Integer),
    )


def _by_month_ranges(book: PolicyBook, start: dt.date, end: dt.date, value) -> list[tuple[dt.date, dt.date, object]]:
    """``[from, until)`` day ranges of the window with one ``value(policy)`` each (consecutive months merged)."""
    ranges: list[tuple[dt.date, dt.date, object]] = []
    for month in months_between(start, end - dt.timedelta(days=1)):
        v = value(book.for_month(month))  # a month without a policy version is an error, as for the row path
        lo, hi = max(start, month), min(end, next_month(month))
        if ranges and ranges[-1][2] == v and ranges[-1][1] == lo:
            ranges[-1] = (ranges[-1][0], hi, v)
        else:
            ranges.append((lo, hi, v))
    return ranges


def daily_counts_select(book: PolicyBook, start: dt.date, end: dt.date, run_id: str) -> sa.Select:
    """The ``daily_complaint_counts`` rows of days in ``[start, end)`` (SPEC §2) as one SELECT — the GROUP BY of
    :func:`daily_counts` with the notifications and the provenance of each day's policy version computed in the
    database — for ``INSERT … SELECT`` (``writer.replace_partition_from``): no row is sent to Python and back."""
    counts = _grouped(start, end).subquery("counts")
    d, n = sa.type_coerce(counts.c.day, sa.Date), counts.c.complaints

    def by_day(ranges, expr):
        if len(ranges) == 1:
            return expr(ranges[0][2])
        return sa.case(*[(d < until, expr(v)) for _, until, v in ranges[:-1]], else_=expr(ranges[-1][2]))

    rules = _by_month_ranges(book, start, end, lambda p: p.complaints)
    versions = _by_month_ranges(book, start, end, lambda p: p.version)
    return sa.select(
        counts.c.partner_id,
        counts.c.day,
        n.label("complaints"),
        by_day(rules, lambda r: notifications_sql(n, r)).label("notifications"),
        by_day(versions, lambda v: sa.literal(v, sa.String)).label("policy_version"),
        sa.literal(run_id, sa.String).label("run_id"),
    )


def _grouped(start: dt.date, end: dt.date) -> sa.Select:
    """partner, day, complaints: the uninformed-subscription tickets created in ``[start, end)``, by partner and day."""
    day = sa.func.date(tickets.c.created_at)
    return (
        sa.select(tickets.c.partner_id, day.label("day"), sa.func.count().label("complaints"))
        .where(
            tickets.c.category == UNINFORMED,
            tickets.c.created_at >= dt.datetime.combine(start, dt.time()),
            tickets.c.created_at < dt.datetime.combine(end, dt.time()),
        )
        .group_by(tickets.c.partner_id, day)
    )


def daily_counts(conn: sa.Connection, book: PolicyBook, start: dt.date, end: dt.date) -> list[dict]:
    """``daily_complaint_counts`` rows for days in ``[start, end)`` (SPEC §2), counted by one GROUP BY."""
    q = _grouped(start, end)
    q = q.order_by(q.selected_columns.day, tickets.c.partner_id)
    rows = []
    rules_by_month: dict[dt.date, object] = {}
    for pid, d, n in conn.execute(q):
        d = as_date(d)
        month = d.replace(day=1)
        if month not in rules_by_month:  # one policy lookup per month, not per row
            rules_by_month[month] = book.for_month(month).complaints
        rules = rules_by_month[month]
        rows.append({"partner_id": pid, "day": d, "complaints": int(n), "notifications": notifications_for(n, rules)})
    return rows


def warning_tier_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``warning_tiers`` rows for ``month`` (SPEC §3) from the stored daily counts."""
    policy = book.for_month(month)
    q = (
        sa.select(daily.c.partner_id, daily.c.day, daily.c.notifications)
        .where(daily.c.day >= month, daily.c.day < next_month(month), daily.c.notifications > 0)
        .order_by(daily.c.partner_id, daily.c.day)
    )
    per_partner: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    for pid, d, n in conn.execute(q):
        per_partner[pid].append((as_date(d), int(n)))
    rows = []
    for pid, days in per_partner.items():
        rows.extend(row_of(r) for r in tiers_reached(pid, month, days, policy.warning_tiers))
    return rows


def monthly_notifications(conn: sa.Connection, month: dt.date) -> dict[str, int]:
    q = (
        sa.select(daily.c.partner_id, sa.func.sum(daily.c.notifications))
        .where(daily.c.day >= month, daily.c.day < next_month(month))
        .group_by(daily.c.partner_id)
    )
    return {pid: int(n or 0) for pid, n in conn.execute(q)}


def timely_counts(conn: sa.Connection, month: dt.date) -> dict[str, tuple[int, int]]:
    """partner_id → (handled by due time, due) over all its tickets with ``due_at`` in ``month``."""
    on_time = sa.case(
        (sa.and_(tickets.c.handled_at.is_not(None), tickets.c.handled_at <= tickets.c.due_at), 1), else_=0
    )
    q = (
        sa.select(tickets.c.partner_id, sa.func.sum(on_time), sa.func.count())
        .where(
            tickets.c.due_at >= dt.datetime.combine(month, dt.time()),
            tickets.c.due_at < dt.datetime.combine(next_month(month), dt.time()),
        )
        .group_by(tickets.c.partner_id)
    )
    return {pid: (int(ok or 0), int(n)) for pid, ok, n in conn.execute(q)}


def health_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``health_scores`` rows (SPEC §4.1) for every partner scored in ``month``."""
    policy = book.for_month(month)
    notes = monthly_notifications(conn, month)
    timely = timely_counts(conn, month)
    rows = []
    for pid in scored_partner_ids(conn, month):
        ok, due = timely.get(pid, (0, 0))
        rate = health_rules.timely_rate(ok, due)
        n = notes.get(pid, 0)
        h = health_rules.health_score(n, rate, policy.health)
        rows.append(
            {
                "partner_id": pid,
                "month": month,
                "monthly_notifications": n,
                "timely_rate": rate.quantize(health_rules.RATE_QUANTUM),
                "health": h.health,
                "clause": health_rules.CLAUSE,
                "reason": h.reason,
            }
        )
    return rows
