"""Chinese statutory working days (第十四条: 5 个工作日).

Backed by the maintained ``chinesecalendar`` library, which knows the State Council's holiday notices including
adjusted working weekends (调休). For a year the library does not know, the policy file's ``calendar.extra_years``
may supply the official notice; otherwise :class:`UnknownCalendarYear` is raised — we never guess a year.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from migu_assets.policy import CalendarRules


class UnknownCalendarYear(LookupError):
    """The working-day calendar has no official schedule for this year."""


class WorkdayCalendar:
    def __init__(self, rules: CalendarRules | None = None):
        self._extra = dict(rules.extra_years) if rules else {}
        self._known: dict[dt.date, bool] = {}  # chinese_calendar validates every call: ~28 µs; the ledger asks 50k×

    def is_workday(self, day: dt.date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._lookup(day)
        return known

    def _lookup(self, day: dt.date) -> bool:
        extra = self._extra.get(day.year)
        if extra is not None:
            if day in extra.workdays:
                return True
            if day in extra.holidays:
                return False
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError as exc:
            raise UnknownCalendarYear(
                f"no official working-day calendar for {day.year}: upgrade chinesecalendar or add the year's "
                f"State Council holiday notice under calendar.extra_years in the policy file"
            ) from exc

    def nth_workday_after(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after ``day`` (``day`` itself not counted)."""
        count, cur = 0, day
        while count < n:
            cur += dt.timedelta(days=1)
            if self.is_workday(cur):
                count += 1
        return cur

    def nth_workday_of_month(self, month: dt.date, n: int) -> dt.date:
        """The n-th working day of ``month`` (counting its first day)."""
        return self.nth_workday_after(month.replace(day=1) - dt.timedelta(days=1), n)
