"""Counting periods (SPEC §3, 民法典第二百零一、二百零二条).

The anchor day (trigger or event date) is not counted: a period starts the next day and its last day
(inclusive) is ``anchor + period``. Months are calendar months added from the anchor and clamped to the month's
end (2024-01-30 + 1 month = 2024-02-29; 2024-01-31 + 1 month = 2024-02-29); days are calendar days.
"""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta

from migu_assets.policy import Period


def as_date(value) -> dt.date | None:
    """A date read back from either database (SQLite aggregates return ISO text); None stays None."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic from ``day``, clamped to month end (never month by month)."""
    return day + relativedelta(months=months)


def period_end(anchor: dt.date, period: Period) -> dt.date:
    """Last day (inclusive) of a period anchored on ``anchor``."""
    if period.months:
        return add_months(anchor, period.months)
    return anchor + dt.timedelta(days=period.days)


def period_window(anchor: dt.date, period: Period) -> tuple[dt.date, dt.date]:
    """``(from, until)``: from = anchor + 1 day, until = anchor + period (inclusive)."""
    return anchor + dt.timedelta(days=1), period_end(anchor, period)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    """First day of the month after ``month``'s: ``add_months(month_start(month), 1)`` without relativedelta (a
    first day never needs clamping), because the settlement ledger asks ~260,000 times a year at full size."""
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    """Last day of ``month``."""
    return next_month(month) - dt.timedelta(days=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of every month from ``first``'s month to ``last``'s month, inclusive."""
    out, cur = [], month_start(first)
    while cur <= month_start(last):
        out.append(cur)
        cur = next_month(cur)
    return out
