"""Credit (信用积分, 第九至十四条, 附件5): monthly score, weighted credit, grade, measures and due dates.

- Monthly score **[default]** ``100 + 7 × health + 2 × importance`` (base and weights in the policy file).
- Weighted credit: Σ wₖ·monthly_score(m−k), k = 0..2, w = (0.5, 0.3, 0.2), renormalised over the months the partner
  was scored (its first month: the monthly score itself). A major violation in the month sets it to 0 (第十二条).
- Grade from the rounded credit score (第十条): A ≥ 800, B ≥ 600, C ≥ 450, D ≥ 300, E ≥ 150, F > 0, else TERMINATED.
- ``issued_on`` = the recorded issue date, else the 5th Chinese working day of the next month; ``due_on`` = the 5th
  working day after ``issued_on`` (第十四条, issued_on itself not counted).
- Supersession (第十四条 以最新收到的信用积分级别为准): a C–F/TERMINATED row supersedes the previous month's C–F row
  when that row was not yet due on this row's issue date (``prev.due_on ≥ issued_on``). Reading: the previous row
  must itself be C–F (A/B rows carry no measures to supersede) and a TERMINATED previous month cannot occur because
  a terminated partner is no longer graded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from migu_assets.policy import CreditRules
from migu_assets.rules.numbers import round2
from migu_assets.rules.workdays import WorkdayCalendar

TERMINATED = "TERMINATED"
ACTION_GRADES = ("C", "D", "E", "F", TERMINATED)


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


def supersedes(prev_grade: str | None, prev_due_on: dt.date | None, grade: str, issued_on: dt.date) -> bool:
    """Whether this month's C–F/TERMINATED result replaces the previous month's C–F result still being handled."""
    return (
        grade in ACTION_GRADES
        and prev_grade in ACTION_GRADES[:4]
        and prev_due_on is not None
        and prev_due_on >= issued_on
    )
