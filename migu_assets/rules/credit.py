"""Credit (信用积分, 第九至十四条, 附件5): monthly score, weighted credit, grade, measures and due dates.

- Monthly score **[default]** ``100 + 7 × health + 2 × importance`` (base and weights in the policy file).
- Weighted credit: Σ wₖ·monthly_score(m−k), k = 0..2, w = (0.5, 0.3, 0.2), renormalised over the months the partner
  was scored (its first month: the monthly score itself). A major violation in the month sets it to 0 (第十二条).
- Grade from the rounded credit score (第十条): A ≥ 800, B ≥ 600, C ≥ 450, D ≥ 300, E ≥ 150, F > 0, else TERMINATED.
- ``issued_on`` = the recorded issue date, else the 5th Chinese working day of the next month; ``due_on`` = the 5th
  working day after ``issued_on`` (第十四条, issued_on itself not counted).
- Supersession (第十四条 若在5个工作日内收到后续月份的信用积分结果，以最新收到的信用积分级别为准, SPEC v2 §5):
  month m's row supersedes month m−1's C–F row when m's result is issued on or before m−1's ``due_on``
  (``issued_on(m) ≤ due_on(m−1)``), **whatever m's grade, A and B included** — the policy says "the latest result
  received governs", not "the latest C–F result". Only a C–F previous row can be superseded (A/B carry no measures
  to skip); a TERMINATED row is never superseded (the partner is not scored after it).
- Grade in force (SPEC v2 §5): a month's own grade, or, when it was superseded, the grade in force of the month
  that superseded it — chains follow through (Jan superseded by Feb superseded by Mar → Jan's grade in force is
  Mar's). Reading: as of a day, only a superseding result issued on or before that day counts (staff cannot act on
  a result they have not received); :func:`grade_in_force` takes that day.
- Scoring periods (SPEC v2 §4.3, :func:`scoring_start`): scored from the month of ``cooperation_start`` until the
  month of a major violation (scored there with credit 0); after it, only from the start month of a contract whose
  ``start_date`` is after the violation day, with a fresh history. Reading: when such a contract starts in the
  violation's own month, the fresh history starts the month after (the violation month is the old history's last,
  credit 0); violations occurring while the partner is not scored belong to no history and are ignored here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from migu_assets.policy import CreditRules
from migu_assets.rules.numbers import round2
from migu_assets.rules.workdays import WorkdayCalendar
from migu_assets.vocabulary import TERMINATED, measure_names


def monthly_score(health: int, importance: int, rules: CreditRules) -> Decimal:
    """附件5 / 第十一条: base + w_h × health + w_i × importance, half-up to 2 decimals."""
    return round2(rules.base + rules.health_weight * health + rules.importance_weight * importance)


@dataclass(frozen=True)
class WeightedCredit:
    credit_score: Decimal
    months_used: int
    weights: tuple[Decimal, ...]


def weighted_credit(scores: list[Decimal | None], rules: CreditRules) -> WeightedCredit:
    """Weighted credit from ``scores[k]`` = monthly score of month m−k (None where not scored)."""
    pairs = [(w, s) for w, s in zip(rules.window_weights, scores, strict=False) if s is not None]
    if not pairs:
        raise ValueError("a weighted credit needs at least the current month's score")
    total_w = sum(w for w, _ in pairs)
    value = sum(w * s for w, s in pairs) / total_w
    return WeightedCredit(round2(value), len(pairs), tuple(w / total_w for w, _ in pairs))


@dataclass(frozen=True)
class Grade:
    grade: str
    band: str
    measures: list[str]


def grade_for(score: Decimal, rules: CreditRules) -> Grade:
    """第十条: the band of the rounded score; ≤ 0 is TERMINATED (终止合作)."""
    s = round2(score)
    if s <= 0:
        return Grade(TERMINATED, "得分≤0", list(rules.terminated_measures))
    upper = None
    for band in rules.grades:
        if s >= band.min:
            rng = f"{band.min}≤得分" + (f"<{upper}" if upper is not None else f"≤{rules.max_score}")
            return Grade(band.grade, rng, list(band.measures))
        upper = band.min
    raise ValueError(f"score {s} is below every grade band")  # unreachable with a valid policy


def default_issue_date(month: dt.date, rules: CreditRules, calendar: WorkdayCalendar) -> dt.date:
    """**[default]** the ``issue_working_day``-th (5th) Chinese working day of the month after ``month``."""
    nxt = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return calendar.nth_workday_of_month(nxt, rules.issue_working_day)


def due_date(issued_on: dt.date, rules: CreditRules, calendar: WorkdayCalendar) -> dt.date:
    """第十四条: the 5th Chinese working day after ``issued_on`` (issued_on not counted; 调休 included)."""
    return calendar.nth_workday_after(issued_on, rules.response_working_days)


def required_codes(grade: str, rules: CreditRules) -> tuple[str, ...]:
    """The measure codes a result of ``grade`` requires under ``rules`` (第十条, cumulative by the policy's bands).

    Reading: a TERMINATED result requires every grade measure as well as termination (终止合作 includes them), so a
    later TERMINATED lifts no earlier measure.
    """
    if grade == TERMINATED:
        every = dict.fromkeys(code for band in rules.grades for code in band.measures)
        return (*every, *rules.terminated_measures)
    return next((tuple(band.measures) for band in rules.grades if band.grade == grade), ())


def supersedes(
    prev_grade: str | None, prev_due_on: dt.date | None, issued_on: dt.date, prev_rules: CreditRules
) -> bool:
    """Whether this month's result (any grade, A and B included — SPEC v2 §5) replaces the previous month's.

    True when the previous month's grade required measures under its own policy (C–F in v2.1; never TERMINATED)
    and this result is issued on or before its ``due_on`` (第十四条: received within the response working days).
    """
    supersedable = prev_grade in prev_rules.action_grades and prev_grade != TERMINATED
    return supersedable and prev_due_on is not None and issued_on <= prev_due_on


# ---------------------------------------------------------------- the Chinese reasons of the credit rows
def monthly_score_reason(health: int, importance: int, score: Decimal, rules: CreditRules) -> str:
    return (
        f"月度信用得分 = {rules.base} + {rules.health_weight}×健康度{health} + "
        f"{rules.importance_weight}×战略重要性{importance} = {score}分。"
    )


def weighted_reason(months: list[dt.date], scores: list[Decimal | None], wc: WeightedCredit) -> str:
    """第十一条: the months used with their renormalised weights."""
    used = [(m, sc) for m, sc in zip(months, scores, strict=True) if sc is not None]
    terms = [f"{m:%Y-%m}月{sc}分×{wt:.4f}" for (m, sc), wt in zip(used, wc.weights, strict=True)]
    return f"加权信用积分 = {' + '.join(terms)} = {wc.credit_score}分（按已计分月份归一化权重）。"


@dataclass(frozen=True)
class ViolationZeroing:
    credit_score: Decimal
    clause: str
    reason: str


def violation_zeroing(
    wc: WeightedCredit, violation_id: str, occurred_on: dt.date, violation_type: int
) -> ViolationZeroing:
    """第十二条/附件8 违规扣分: a major violation in the month sets the credit to 0, whatever the weights give."""
    return ViolationZeroing(
        Decimal("0.00"),
        "第十二条/附件8",
        f"{occurred_on}发生重大违规（附件8第{violation_type}项，{violation_id}），违规扣分一次性扣减信用积分至0分"
        f"（加权计算本应为{wc.credit_score}分），自当月起终止合作、不再计分。",
    )


@dataclass(frozen=True)
class Superseded:
    month: dt.date
    grade: str
    due_on: dt.date


def grade_clause_and_reason(
    month: dt.date,
    score: Decimal,
    grade: Grade,
    issued_on: dt.date,
    due_on: dt.date,
    rules: CreditRules,
    violation_id: str | None = None,
    superseded: Superseded | None = None,
) -> tuple[str, str]:
    """第十条 (band and measures), 第十二条 (the violation behind a TERMINATED), 第十四条 (due date, supersession)."""
    measures = "；".join(measure_names(grade.measures))
    if grade.grade == TERMINATED:
        clause = "第十条/终止"
        cause = f"因重大违规{violation_id}违规扣分至0（第十二条）" if violation_id else ""
        text = f"{month:%Y年%m月}信用积分{score}分（得分≤0）{cause}，终止合作"
    else:
        clause = f"第十条/{grade.grade}"
        text = f"{month:%Y年%m月}信用积分{score}分（{grade.band}），评级{grade.grade}"
        text += f"：{measures}" if measures else "，无处罚措施"
    text += f"；结果于{issued_on}下发"
    if grade.grade in rules.action_grades:
        text += f"，须于{rules.response_working_days}个工作日内（最迟{due_on}，含当日，第十四条）按评级处理"
    if superseded is not None:
        text += (
            f"；{superseded.month:%Y年%m月}的{superseded.grade}级结果尚未到期（{superseded.due_on}），"
            "以最新收到的级别为准"
        )
    return clause, text + "。"


@dataclass(frozen=True)
class MonthResult:
    """One month's credit result as the supersession chain needs it."""

    month: dt.date
    grade: str
    issued_on: dt.date
    due_on: dt.date
    supersedes_month: dt.date | None
    codes: tuple[str, ...] = ()  # the measure codes this result requires (:func:`required_codes`)


def superseded_by(
    month: dt.date, results: Mapping[dt.date, MonthResult], as_of: dt.date | None = None
) -> MonthResult | None:
    """The result that superseded ``month``'s (issued on or before ``as_of`` when given), or None."""
    for r in results.values():
        if r.supersedes_month == month and (as_of is None or r.issued_on <= as_of):
            return r
    return None


def grade_in_force(
    month: dt.date, results: Mapping[dt.date, MonthResult], as_of: dt.date | None = None
) -> MonthResult | None:
    """The result whose grade is in force for ``month``: its own, or the end of its supersession chain.

    ``results`` maps month → :class:`MonthResult` of one partner. With ``as_of``, only superseding results issued on
    or before that day count. None when ``month`` was not graded.
    """
    current = results.get(month)
    seen = set()
    while current is not None and current.month not in seen:
        seen.add(current.month)
        later = superseded_by(current.month, results, as_of)
        if later is None:
            return current
        current = later
    return current


def scoring_start(
    month: dt.date,
    cooperation_start: dt.date,
    violation_days: Iterable[dt.date],
    contract_starts: Iterable[dt.date],
) -> dt.date | None:
    """First month of the partner's current history if it is scored in ``month``, else None (SPEC v2 §4.3).

    A history runs from its start month to the month of the first major violation on or after that start
    (inclusive, credit 0 there); the next history starts at the first contract with ``start_date`` after the
    violation day (its start month, or the month after the violation's when that is later).
    """
    violations = sorted(violation_days)
    starts = sorted(contract_starts)
    start = _month(cooperation_start)
    while start <= month:
        ending = next((v for v in violations if _month(v) >= start), None)
        if ending is None or _month(ending) >= month:
            return start
        again = next((c for c in starts if c > ending), None)
        if again is None:
            return None
        start = max(_month(again), _next(_month(ending)))
    return None


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next(month: dt.date) -> dt.date:
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
