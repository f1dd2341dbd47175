"""Measures and their execution (第十条, 第十四条, 第十条注; SPEC v2 §5a).

``measures`` (monthly): one row per measure that month m's results require, known when m is computed:

- a C–F grade row gives its grade's measures, cumulative — C ``stop_new_business``;
  D + ``suspend_billing_or_promotion``; E + ``suspend_settlement``; F + ``suspend_all_sales``; TERMINATED gives
  ``terminate_cooperation``; ``due_on`` = the grade row's ``due_on`` (第十四条: 5 working days after issue);
- a ``control_actions`` row with action ``suspend_promotion`` or ``manual_per_issuer`` gives one row, due on its
  ``start_date``, ending on its ``end_date`` (附件1–4);
- a ``warning_tiers`` row gives ``suspend_promotion`` and ``suspend_new_codes``, due on the suspension's from date,
  ending on its until date (第八条, 附件7).

``measure_id`` is stable across recomputation: ``grade:{partner}:{YYYY-MM}:{code}``, ``control:{action_id}``,
``tier:{partner}:{YYYY-MM}:{tier}:{code}``.

``measure_ledger`` (as of a day): each measure with its execution and what later months changed, and a status.
An executed measure is ``done`` (executed_on ≤ due_on) or ``done_late``, whatever else applies. An unexecuted one
gets the first that applies: ``superseded`` (its grade month was superseded, 第十四条), ``lifted`` (a later month's
result, issued by as_of, no longer requires its code), ``lapsed`` (第十条注: ``stop_new_business`` and
``suspend_settlement`` end with the cooperation), ``ended`` (``ends_on < as_of``), ``overdue`` (``as_of > due_on``,
with the working days counted on the Chinese calendar), ``open``. ``lifecycle`` names the first of superseded /
lifted / lapsed / ended that applies (else ``active``), so an executed measure still says what became of it.

Readings (docs/READINGS.md):
- Everything is as of the day: an execution counts only when ``executed_on ≤ as_of``; a superseding or lifting
  result only when issued on or before as_of (staff cannot act on a result they have not received).
- Lifting compares codes: a later TERMINATED result requires every C–F code (termination includes them), so it
  lifts nothing; ``terminate_cooperation`` itself is never lifted (a re-entry is a new cooperation).
- ``working_days_overdue`` = the Chinese working days in ``(due_on, as_of]``; it is 0 on a weekend right after
  the due day (the measure is overdue by calendar, by no working day yet), and null unless the status is overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from migu_assets.policy import CreditRules
from migu_assets.rules.credit import Grade, MonthResult, grade_in_force, superseded_by
from migu_assets.rules.workdays import WorkdayCalendar
from migu_assets.vocabulary import (
    MANUAL_PER_ISSUER,
    MEASURE_NAMES,
    MEASURE_SOURCE_NAMES,
    STOP_NEW_BUSINESS,
    SUSPEND_NEW_CODES,
    SUSPEND_PROMOTION,
    SUSPEND_SETTLEMENT,
    TERMINATE_COOPERATION,
    grade_label,
)

GRADE, CONTROL, WARNING = "grade", "control", "warning"

# 第十条注: 合作结束后，若无其他处理，"停止开展新类型合作"、"暂停费用结算"的处置措施相应结束
LAPSING_CODES = frozenset({STOP_NEW_BUSINESS, SUSPEND_SETTLEMENT})
CONTROL_ACTIONS = frozenset({SUSPEND_PROMOTION, MANUAL_PER_ISSUER})

DONE, DONE_LATE = "done", "done_late"
SUPERSEDED, LIFTED, LAPSED, ENDED, OVERDUE, OPEN = "superseded", "lifted", "lapsed", "ended", "overdue", "open"
ACTIVE = "active"
STATUSES = (DONE, DONE_LATE, SUPERSEDED, LIFTED, LAPSED, ENDED, OVERDUE, OPEN)


def requires(result: MonthResult, code: str) -> bool:
    """Whether ``result`` requires ``code`` (its codes come from its own month's policy, ``required_codes``)."""
    return code in result.codes


@dataclass(frozen=True)
class Measure:
    measure_id: str
    partner_id: str
    month: dt.date
    source: str
    code: str
    due_on: dt.date
    ends_on: dt.date | None
    clause: str
    reason: str

    def row(self) -> dict:
        return dict(self.__dict__)


def grade_measures(
    partner_id: str,
    month: dt.date,
    grade: Grade,
    issued_on: dt.date,
    due_on: dt.date,
    clause: str,
    rules: CreditRules,
) -> list[Measure]:
    """第十条 + 第十四条: the measures of the grade's band (cumulative in the policy), due the response working days
    after issue; TERMINATED gives the policy's termination measure."""
    out = []
    for code in grade.measures:
        out.append(
            Measure(
                measure_id=f"grade:{partner_id}:{month:%Y-%m}:{code}",
                partner_id=partner_id,
                month=month,
                source=GRADE,
                code=code,
                due_on=due_on,
                ends_on=None,
                clause=clause,
                reason=f"{month:%Y年%m月}信用评级{grade_label(grade.grade)}（{issued_on}下发），"
                f"须执行“{MEASURE_NAMES[code]}”，最迟{due_on}（含当日，{rules.response_working_days}个工作日内，第十四条）。",
            )
        )
    return out


def control_measure(
    action_id: str,
    partner_id: str,
    month: dt.date,
    action: str,
    target_text: str,
    start_date: dt.date,
    end_date: dt.date | None,
    clause: str,
    requirement: str | None = None,
) -> Measure | None:
    """附件1–4: a ``suspend_promotion`` or ``manual_per_issuer`` control action, due on its start date."""
    if action not in CONTROL_ACTIONS:
        return None
    what = MEASURE_NAMES[action] + (f"：{requirement}" if requirement else "")
    period = f"{start_date}至{end_date}（含当日）" if end_date else f"自{start_date}起"
    return Measure(
        measure_id=f"control:{action_id}",
        partner_id=partner_id,
        month=month,
        source=CONTROL,
        code=action,
        due_on=start_date,
        ends_on=end_date,
        clause=clause,
        reason=f"{target_text}{what}（{period}），须于{start_date}起执行。",
    )


def tier_measures(
    partner_id: str,
    month: dt.date,
    tier: int,
    promotion: tuple[dt.date, dt.date],
    codes: tuple[dt.date, dt.date],
    clause: str,
) -> list[Measure]:
    """第八条/附件7: a warning tier's promotion and new-code suspensions, each due on its from date."""
    out = []
    for code, (start, until) in ((SUSPEND_PROMOTION, promotion), (SUSPEND_NEW_CODES, codes)):
        out.append(
            Measure(
                measure_id=f"tier:{partner_id}:{month:%Y-%m}:{tier}:{code}",
                partner_id=partner_id,
                month=month,
                source=WARNING,
                code=code,
                due_on=start,
                ends_on=until,
                clause=clause,
                reason=f"{month:%Y年%m月}{tier}级预警：{MEASURE_NAMES[code]}{start}至{until}（含当日），须于{start}起执行。",
            )
        )
    return out





# ---------------------------------------------------------------- the ledger
@dataclass(frozen=True)
class Execution:
    executed_on: dt.date
    executed_by: str
    note: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    executed_on: dt.date | None
    executed_by: str | None
    superseded_by_month: dt.date | None
    lifted_by_month: dt.date | None
    lapsed_on: dt.date | None
    status: str
    lifecycle: str
    working_days_overdue: int | None
    grade_in_force: str | None
    reason: str


def lifted_by(code: str, month: dt.date, results: Mapping[dt.date, MonthResult], as_of: dt.date) -> dt.date | None:
    """The first month after ``month`` whose result, issued on or before ``as_of``, no longer requires ``code``."""
    if code == TERMINATE_COOPERATION:
        return None
    for later in sorted(m for m in results if m > month):
        r = results[later]
        if r.issued_on <= as_of and not requires(r, code):
            return later
    return None


def working_days_between(after: dt.date, through: dt.date, calendar: WorkdayCalendar) -> int:
    """Chinese working days in ``(after, through]`` (cached: the measures of a month share their due date)."""
    return _working_days(calendar, after, through)


@lru_cache(maxsize=4096)
def _working_days(calendar: WorkdayCalendar, after: dt.date, through: dt.date) -> int:
    n, day = 0, after
    while day < through:
        day += dt.timedelta(days=1)
        if calendar.is_workday(day):
            n += 1
    return n


def ledger_entry(
    measure: Measure,
    as_of: dt.date,
    *,
    execution: Execution | None,
    results: Mapping[dt.date, MonthResult],
    cooperation_ended_on: dt.date | None,
    calendar: WorkdayCalendar,
) -> LedgerEntry:
    """The status of ``measure`` as of ``as_of`` (SPEC v2 §5a).

    ``results`` are the partner's monthly credit results (month → :class:`MonthResult`); ``cooperation_ended_on``
    the day its cooperation ended (§7), if it has.
    """
    if execution is not None and execution.executed_on > as_of:
        execution = None  # not yet executed on that day
    superseded = lifted = None
    in_force = None
    if measure.source == GRADE:
        later = superseded_by(measure.month, results, as_of)
        superseded = later.month if later is not None else None
        lifted = lifted_by(measure.code, measure.month, results, as_of)
    if measure.month in results:
        g = grade_in_force(measure.month, results, as_of)
        in_force = g.grade if g is not None else None
    lapsed = None
    if measure.code in LAPSING_CODES and cooperation_ended_on is not None and cooperation_ended_on <= as_of:
        lapsed = cooperation_ended_on
    ended = measure.ends_on is not None and measure.ends_on < as_of
    lifecycle = SUPERSEDED if superseded else LIFTED if lifted else LAPSED if lapsed else ENDED if ended else ACTIVE
    overdue_days = None
    if execution is not None:
        status = DONE if execution.executed_on <= measure.due_on else DONE_LATE
    elif lifecycle != ACTIVE:
        status = lifecycle
    elif as_of > measure.due_on:
        status = OVERDUE
        overdue_days = working_days_between(measure.due_on, as_of, calendar)
    else:
        status = OPEN
    reason = _ledger_reason(measure, as_of, status, lifecycle, execution, superseded, lifted, lapsed, overdue_days)
    return LedgerEntry(
        executed_on=execution.executed_on if execution else None,
        executed_by=execution.executed_by if execution else None,
        superseded_by_month=superseded,
        lifted_by_month=lifted,
        lapsed_on=lapsed,
        status=status,
        lifecycle=lifecycle,
        working_days_overdue=overdue_days,
        grade_in_force=in_force,
        reason=reason,
    )


@lru_cache(maxsize=8192)  # a month's measures of one code share their due date: 64,000 rows, a few hundred heads
def _ledger_head(as_of: dt.date, code: str, source: str, month: dt.date, due_on: dt.date) -> str:
    what = MEASURE_NAMES.get(code, code)
    return f"截至{as_of}，“{what}”（{MEASURE_SOURCE_NAMES[source]}，{month:%Y年%m月}，最迟{due_on}执行）"


def _ledger_reason(
    measure: Measure,
    as_of: dt.date,
    status: str,
    lifecycle: str,
    execution: Execution | None,
    superseded: dt.date | None,
    lifted: dt.date | None,
    lapsed: dt.date | None,
    overdue_days: int | None,
) -> str:
    head = _ledger_head(as_of, measure.code, measure.source, measure.month, measure.due_on)
    parts = []
    if execution is not None:
        when = "按期" if status == DONE else "逾期"
        parts.append(f"已由{execution.executed_by}于{execution.executed_on}{when}执行")
    if superseded:
        parts.append(f"本月结果已被{superseded:%Y年%m月}在处理期限内下发的结果取代，以最新收到的级别为准（第十四条）")
    if lifted:
        parts.append(f"{lifted:%Y年%m月}的评级结果已不再要求该措施，措施解除")
    if lapsed:
        parts.append(f"合作已于{lapsed}结束，该措施相应结束（第十条注）")
    if lifecycle == ENDED and not (superseded or lifted or lapsed):
        parts.append(f"处罚期已于{measure.ends_on}届满")
    if status == OVERDUE:
        parts.append(f"已逾期{overdue_days}个工作日未执行")
    if status == OPEN:
        parts.append("尚在执行期限内，待执行")
    if execution is None and status in (SUPERSEDED, LIFTED, LAPSED, ENDED):
        parts.append("无需再执行")
    return head + "：" + "；".join(parts) + "。"
