"""What a result letter says, read from the warehouse's output tables only (no Dagster, no recomputation).

A partner gets a letter for month m when m has, for it, a C–F or TERMINATED grade, a warning tier, a control
action, or a grade row that supersedes an earlier month's result (SPEC v2 §5: also an A/B result received within
the earlier C–F result's 5 working days — the partner must learn that the earlier measures are not carried out).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from migu_assets import vocabulary as L
from migu_assets.explain import ExplainError, explain
from migu_assets.policy import load_policy_book
from migu_assets.rules.periods import next_month
from migu_assets.warehouse import schema as s


def sanction_grades(month: dt.date) -> tuple[str, ...]:
    """Grades whose result requires measures in ``month``'s policy version (C–F and TERMINATED in v2.1)."""
    return load_policy_book().for_month(month).credit.action_grades
MEASURE_SEPARATOR = "；"  # credit_grades.measures joins the grade's measure names with it


@dataclass(frozen=True)
class Item:
    """One line of the letter with the article it applies."""

    text: str
    clause: str


@dataclass
class LetterData:
    partner_id: str
    name: str
    month: dt.date
    letter_date: dt.date
    kinds: list[str]
    grade: dict | None = None
    measures: list[Item] = field(default_factory=list)
    supersedes_month: dt.date | None = None
    warnings: list[Item] = field(default_factory=list)
    controls: list[Item] = field(default_factory=list)
    settlement: list[Item] = field(default_factory=list)
    chain: list[tuple[str, list[Item]]] = field(default_factory=list)
    action_grades: tuple[str, ...] = ()  # of the month's policy version: which grades require measures
    response_days: int = 0  # 第十四条's working days in the month's policy version

    @property
    def kind(self) -> str:
        return ",".join(self.kinds)


def partners_with_notice(conn: sa.Connection, month: dt.date, only: list[str] | None = None) -> list[str]:
    """Partner ids that get a letter for ``month``, sorted."""
    g, w, a = s.credit_grades, s.warning_tiers, s.control_actions
    queries = [
        sa.select(g.c.partner_id).where(
            g.c.month == month, sa.or_(g.c.grade.in_(sanction_grades(month)), g.c.supersedes_month.is_not(None))
        ),
        sa.select(w.c.partner_id).where(w.c.month == month),
        sa.select(a.c.partner_id).where(a.c.month == month),
    ]
    ids = {pid for q in queries for (pid,) in conn.execute(q)}
    if only is not None:
        ids &= set(only)
    return sorted(ids)


def _rows(conn: sa.Connection, query: sa.Select) -> list[dict]:
    return [dict(r) for r in conn.execute(query).mappings()]


def cn_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def cn_month(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


def yuan(amount) -> str:
    return f"{amount:,.2f}元"


def _letter_date(conn: sa.Connection, grade: dict | None, month: dt.date) -> dt.date:
    """The grade's issue date (下发日); without a grade row the month's latest issue date, else the next month's 1st."""
    if grade:
        return grade["issued_on"]
    g = s.credit_grades
    issued = conn.execute(sa.select(sa.func.max(g.c.issued_on)).where(g.c.month == month)).scalar_one_or_none()
    return issued or next_month(month)


def grade_measures(grade: dict) -> list[Item]:
    """Each measure of the grade (第十条) with its due date (第十四条)."""
    names = [m for m in (grade.get("measures") or "").split(MEASURE_SEPARATOR) if m.strip()]
    needs_action = grade["grade"] in sanction_grades(grade["month"])
    due = f"，最迟于{cn_date(grade['due_on'])}（含当日）前执行" if needs_action else ""
    return [Item(f"{name.strip()}{due}", f"{grade['clause']}、第十四条") for name in names]


def tier_items(rows: list[dict]) -> list[Item]:
    return [
        Item(
            f"{L.tier_name(r['tier'])}（当月累计通报{r['monthly_notifications']}次，{cn_date(r['trigger_date'])}达到）："
            f"暂停推广{cn_date(r['promotion_suspended_from'])}至{cn_date(r['promotion_suspended_until'])}，"
            f"暂停代码新增{cn_date(r['code_suspended_from'])}至{cn_date(r['code_suspended_until'])}（均含当日）",
            r["clause"],
        )
        for r in rows
    ]


def control_items(rows: list[dict]) -> list[Item]:
    items = []
    for r in rows:
        dated = {**r, "start_date": cn_date(r["start_date"])}
        dated["end_date"] = f"{cn_date(r['end_date'])}（含当日）" if r["end_date"] else None
        items.append(Item(L.control_action_text(dated, f"事件{r['source_event_id']}"), r["clause"]))
    return items


def settlement_items(row: dict | None) -> list[Item]:
    """The settlement consequence of the month. Ledger columns (held_balance…, SPEC v2 §7) are used when present."""
    if row is None:
        return [Item("本月无结算记录", "第十五条")]
    status = L.named(L.SETTLEMENT_NAMES, row["status"])
    items = [Item(f"结算状态：{status}；本月应付{yuan(row['payable'])}", row["clause"])]
    if row.get("carried_out"):
        items.append(Item(f"负结算{yuan(row['carried_out'])}结转下月抵扣", "第十五条"))
    ledger = [
        ("withheld", "本月暂扣"),
        ("released", "本月释放"),
        ("exit_deducted", "清算扣减"),
        ("paid", "本月实付"),
        ("held_balance", "累计暂扣余额"),
    ]
    parts = [f"{label}{yuan(row[col])}" for col, label in ledger if row.get(col) is not None]
    if parts:
        items.append(Item("；".join(parts), row["clause"]))
    items.append(Item(f"说明：{row['reason']}", row["clause"]))
    return items


def explanation_chain(conn: sa.Connection, partner_id: str, month: dt.date) -> list[tuple[str, list[Item]]]:
    """The same chain as ``migu-assets explain`` (called, not copied)."""
    try:
        result = explain(conn, partner_id, month)
    except ExplainError:
        return []
    return [(sec.title, [Item(line.text, line.clause) for line in sec.lines]) for sec in result.sections]


def read_letter(conn: sa.Connection, partner_id: str, month: dt.date) -> LetterData:
    month = month.replace(day=1)
    name = conn.execute(sa.select(s.partners.c.name).where(s.partners.c.partner_id == partner_id)).scalar_one()
    g, w, a, st = s.credit_grades, s.warning_tiers, s.control_actions, s.settlements
    grade = next(iter(_rows(conn, sa.select(g).where(g.c.partner_id == partner_id, g.c.month == month))), None)
    tiers = _rows(conn, sa.select(w).where(w.c.partner_id == partner_id, w.c.month == month).order_by(w.c.tier))
    controls = _rows(
        conn,
        sa.select(a)
        .where(a.c.partner_id == partner_id, a.c.month == month)
        .order_by(a.c.start_date, a.c.source_event_id, a.c.action_id),
    )
    settlement = next(iter(_rows(conn, sa.select(st).where(st.c.partner_id == partner_id, st.c.month == month))), None)
    kinds = []
    if grade and grade["grade"] == "TERMINATED":
        kinds.append("terminated")
    elif grade and grade["grade"] in sanction_grades(month):
        kinds.append("credit")
    if grade and grade["supersedes_month"]:
        kinds.append("supersession")
    if tiers:
        kinds.append("warning")
    if controls:
        kinds.append("control")
    return LetterData(
        partner_id=partner_id,
        name=name,
        month=month,
        letter_date=_letter_date(conn, grade, month),
        kinds=kinds,
        grade=grade,
        measures=grade_measures(grade) if grade else [],
        supersedes_month=grade["supersedes_month"] if grade else None,
        warnings=tier_items(tiers),
        controls=control_items(controls),
        settlement=settlement_items(settlement),
        chain=explanation_chain(conn, partner_id, month),
        action_grades=sanction_grades(month),
        response_days=load_policy_book().for_month(month).credit.response_working_days,
    )
