"""Calendar horizon: warn before the working-day calendar runs out (第十四条 counts 工作日).

``chinesecalendar`` knows the years of the State Council holiday notices published when it was released; the
policy file's ``calendar.extra_years`` adds later ones. A month's results are issued in the next month, so
December's need the next year's calendar from 1 January. The check warns (WARN) from
:data:`WARN_DAYS` days before a year nobody knows yet starts, and fails (ERROR) once today lies in such a year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar
import dagster as dg

from migu_assets.policy import PolicyBook
from migu_assets.resources import PolicyResource

WARN_DAYS = 60
GUIDE = "在政策文件的 calendar.extra_years 中补上该年国务院办公厅的放假通知（见 README「补充新一年的节假日」）"


def library_last_year() -> int:
    """The last year ``chinesecalendar`` has an official schedule for."""
    return max(day.year for day in chinese_calendar.constants.holidays)


def known_years(book: PolicyBook) -> set[int]:
    years = set(range(2004, library_last_year() + 1))
    for policy in book.versions:
        years |= set(policy.calendar.extra_years)
    return years


@dataclass(frozen=True)
class Horizon:
    severity: dg.AssetCheckSeverity | None  # None: covered
    missing_year: int | None
    days_left: int | None  # days until the missing year starts (negative: it has started)
    message: str


def horizon(today: dt.date, book: PolicyBook) -> Horizon:
    """Whether the working-day calendar covers this year and the year ``WARN_DAYS`` days ahead."""
    known = known_years(book)
    for year in sorted({today.year, (today + dt.timedelta(days=WARN_DAYS)).year}):
        if year in known:
            continue
        days_left = (dt.date(year, 1, 1) - today).days
        if days_left <= 0:
            return Horizon(
                dg.AssetCheckSeverity.ERROR,
                year,
                days_left,
                f"工作日日历缺少 {year} 年：涉及 {year} 年日期的计算（如下发日、整改期限）会失败。请{GUIDE}。",
            )
        return Horizon(
            dg.AssetCheckSeverity.WARN,
            year,
            days_left,
            f"工作日日历还不包含 {year} 年，{days_left} 天后（{year}-01-01 起）月度计算将失败。请{GUIDE}。",
        )
    return Horizon(None, None, None, f"工作日日历已覆盖到 {max(known)} 年。")


def _today() -> dt.date:
    from migu_assets.compute.status import today  # Asia/Shanghai

    return today()


@dg.asset_check(
    asset=dg.AssetKey("credit_grades"),
    name="working_day_calendar_horizon",
    description=(
        f"The working-day calendar (chinesecalendar + calendar.extra_years) covers this year and the year "
        f"{WARN_DAYS} days ahead: WARN before a missing year starts, ERROR once it has."
    ),
    blocking=False,
)
def working_day_calendar_horizon(policy: PolicyResource) -> dg.AssetCheckResult:
    status = horizon(_today(), policy.book())
    return dg.AssetCheckResult(
        passed=status.severity is None,
        severity=status.severity or dg.AssetCheckSeverity.ERROR,
        description=status.message,
        metadata={
            "library_last_year": library_last_year(),
            "missing_year": status.missing_year if status.missing_year is not None else "",
            "days_left": status.days_left if status.days_left is not None else "",
        },
    )
