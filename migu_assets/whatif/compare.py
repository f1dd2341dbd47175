"""Published results vs the draft's, per partner and month: grade, credit score, measures and money withheld.

Money withheld is a settlement's ``payable`` when its status is held or stopped (第十条、第十五条、第十九条), else 0.
Rows that differ come first; grade counts are given per month and over the whole range.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from migu_assets.vocabulary import GRADE_ORDER, HELD, SETTLEMENT_NAMES, STOPPED, grade_name, named
from migu_assets.warehouse.schema import credit_grades, partners, settlements

ZERO = Decimal("0.00")
WITHHELD_STATUSES = frozenset({HELD, STOPPED})

# Chinese names of the compared fields, in the order the changes are listed.
FIELD_NAMES = {
    "grade": "评级",
    "credit_score": "信用积分",
    "measures": "处罚措施",
    "settlement_status": "结算状态",
    "withheld": "暂停/停止支付金额",
}


@dataclass(frozen=True)
class Outcome:
    """One partner-month under one policy (``None`` fields: not graded / not settled that month)."""

    grade: str | None = None
    credit_score: Decimal | None = None
    measures: str | None = None
    settlement_status: str | None = None
    withheld: Decimal = ZERO


@dataclass(frozen=True)
class Row:
    partner_id: str
    name: str
    month: dt.date
    published: Outcome
    draft: Outcome

    @property
    def changes(self) -> list[str]:
        return [f for f in FIELD_NAMES if getattr(self.published, f) != getattr(self.draft, f)]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class Comparison:
    months: list[dt.date]
    rows: list[Row]
    grades_by_month: dict[dt.date, tuple[Counter, Counter]] = field(default_factory=dict)  # (published, draft)

    @property
    def changed_rows(self) -> list[Row]:
        return [r for r in self.rows if r.changed]

    def grade_totals(self) -> tuple[Counter, Counter]:
        before, after = Counter(), Counter()
        for b, a in self.grades_by_month.values():
            before.update(b)
            after.update(a)
        return before, after

    def change_counts(self) -> dict[str, int]:
        return {f: sum(1 for r in self.rows if f in r.changes) for f in FIELD_NAMES}

    def withheld_totals(self) -> tuple[Decimal, Decimal]:
        return (
            sum((r.published.withheld for r in self.rows), ZERO),
            sum((r.draft.withheld for r in self.rows), ZERO),
        )


def read_outcomes(engine: sa.Engine, first: dt.date, end: dt.date) -> dict[tuple[str, dt.date], Outcome]:
    """Every graded or settled partner-month in ``[first, end)`` of one store."""
    grades: dict[tuple[str, dt.date], dict] = {}
    with engine.connect() as conn:
        for r in conn.execute(
            sa.select(
                credit_grades.c.partner_id,
                credit_grades.c.month,
                credit_grades.c.grade,
                credit_grades.c.credit_score,
                credit_grades.c.measures,
            ).where(credit_grades.c.month >= first, credit_grades.c.month < end)
        ).mappings():
            grades[(r["partner_id"], r["month"])] = {
                "grade": r["grade"],
                "credit_score": r["credit_score"],
                "measures": r["measures"],
            }
        for r in conn.execute(
            sa.select(settlements.c.partner_id, settlements.c.month, settlements.c.status, settlements.c.payable).where(
                settlements.c.month >= first, settlements.c.month < end
            )
        ).mappings():
            entry = grades.setdefault((r["partner_id"], r["month"]), {})
            entry["settlement_status"] = r["status"]
            entry["withheld"] = r["payable"] if r["status"] in WITHHELD_STATUSES else ZERO
    return {key: Outcome(**values) for key, values in grades.items()}


def graded_months(engine: sa.Engine, first: dt.date, end: dt.date) -> set[dt.date]:
    with engine.connect() as conn:
        query = sa.select(credit_grades.c.month).where(credit_grades.c.month >= first, credit_grades.c.month < end)
        return set(conn.execute(query.distinct()).scalars())


def compare(published: sa.Engine, draft: sa.Engine, months: list[dt.date], end: dt.date) -> Comparison:
    before = read_outcomes(published, months[0], end)
    after = read_outcomes(draft, months[0], end)
    with published.connect() as conn:
        names = dict(conn.execute(sa.select(partners.c.partner_id, partners.c.name)).all())
    rows = [
        Row(pid, names.get(pid, ""), month, before.get((pid, month), Outcome()), after.get((pid, month), Outcome()))
        for pid, month in sorted(before.keys() | after.keys())
    ]
    rows.sort(key=lambda r: (not r.changed, r.partner_id, r.month))
    comparison = Comparison(months=months, rows=rows)
    for month in months:
        b = Counter(r.published.grade for r in rows if r.month == month and r.published.grade)
        a = Counter(r.draft.grade for r in rows if r.month == month and r.draft.grade)
        comparison.grades_by_month[month] = (b, a)
    return comparison


def grade_order(grades) -> list[str]:
    known = [g for g in GRADE_ORDER if g in grades]
    return known + sorted(g for g in grades if g not in GRADE_ORDER)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _score(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _grade(value: str | None) -> str:
    return "—" if value is None else grade_name(value)


def summary_lines(comparison: Comparison, limit: int = 10) -> list[str]:
    """The printed summary: changes, grade counts before/after, money withheld, the first changed rows."""
    rows, changed = comparison.rows, comparison.changed_rows
    counts = comparison.change_counts()
    lines = [
        f"合作方×月份 {len(rows)} 行，其中 {len(changed)} 行有变化"
        + ("（" + "，".join(f"{FIELD_NAMES[f]} {n} 行" for f, n in counts.items() if n) + "）" if changed else "")
    ]
    before, after = comparison.grade_totals()
    lines.append(f"评级分布（{len(comparison.months)} 个月合计）：现行 → 草案")
    for g in grade_order(before.keys() | after.keys()):
        diff = after[g] - before[g]
        lines.append(f"  {grade_name(g):<10} {before[g]:>5} → {after[g]:<5} ({diff:+d})")
    wb, wa = comparison.withheld_totals()
    lines.append(f"暂停/停止支付金额合计：现行 {_money(wb)} → 草案 {_money(wa)}（{_money(wa - wb)}）")
    if changed:
        lines.append(f"变化的行（前 {min(limit, len(changed))} 行，全部见工作簿）：")
        for r in changed[:limit]:
            p, d = r.published, r.draft
            parts = [
                f"评级 {_grade(p.grade)}→{_grade(d.grade)}",
                f"积分 {_score(p.credit_score)}→{_score(d.credit_score)}",
            ]
            if p.settlement_status != d.settlement_status or p.withheld != d.withheld:
                parts.append(
                    f"结算 {named(SETTLEMENT_NAMES, p.settlement_status) or '—'}→"
                    f"{named(SETTLEMENT_NAMES, d.settlement_status) or '—'}"
                    f" 暂停/停止支付 {_money(p.withheld)}→{_money(d.withheld)}"
                )
            lines.append(f"  {r.partner_id} {r.name} {r.month:%Y-%m}：" + "，".join(parts))
    return lines
