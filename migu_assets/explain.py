"""``migu-assets explain``: why a partner has its grade and measures in a month, step by step, each with its clause.

Reads only the warehouse's output tables (no Dagster, no recomputation): the complaints and notifications by day
(第七条/附件6), the warning tiers and their suspensions (第八条/附件7), health (附件5), importance (附件5), the monthly
score and the weighted credit with the weights used (第十一条), a major violation (第十二条), the grade band and its
measures (第十条), issue and due dates and supersession (第十四条), control actions (附件1–4), settlement (第七章) and
renewal decisions (第八章).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from migu_assets.report import labels as L
from migu_assets.rules.periods import add_months, next_month
from migu_assets.warehouse import schema as s


class ExplainError(LookupError):
    """The partner is unknown or nothing was computed for it in the month (the message says which)."""


@dataclass(frozen=True)
class Line:
    text: str
    clause: str


@dataclass
class Section:
    title: str
    lines: list[Line] = field(default_factory=list)

    def add(self, text: str, clause: str) -> None:
        self.lines.append(Line(text, clause))


@dataclass
class Explanation:
    partner_id: str
    name: str
    month: dt.date
    sections: list[Section]

    def render(self) -> str:
        out = [f"合作方 {self.partner_id}（{self.name}） {self.month:%Y年%m月} 信用评级与处罚说明"]
        for i, section in enumerate(self.sections, start=1):
            out.append(f"{_NUMERALS[i - 1]}、{section.title}")
            for line in section.lines:
                text = line.text.replace("\n", "\n      ")
                out.append(f"  · {text}〔{line.clause}〕")
        return "\n".join(out)

    @property
    def clauses(self) -> list[str]:
        return [line.clause for section in self.sections for line in section.lines]


_NUMERALS = "一二三四五六七八九十"
MONTHLY_TABLES = [
    s.warning_tiers,
    s.health_scores,
    s.importance_scores,
    s.monthly_credit_scores,
    s.credit_scores,
    s.credit_grades,
    s.control_actions,
    s.settlements,
    s.renewal_decisions,
]


def _one(conn: sa.Connection, table: sa.Table, pid: str, month: dt.date) -> dict | None:
    row = conn.execute(sa.select(table).where(table.c.partner_id == pid, table.c.month == month)).mappings().first()
    return dict(row) if row else None


def _many(conn: sa.Connection, query: sa.Select) -> list[dict]:
    return [dict(r) for r in conn.execute(query).mappings()]


def _has_rows(conn: sa.Connection, pid: str, month: dt.date) -> bool:
    for table in MONTHLY_TABLES:
        q = sa.select(sa.literal(1)).where(table.c.partner_id == pid, table.c.month == month).limit(1)
        if conn.execute(q).first():
            return True
    return False


def explain(conn: sa.Connection, partner_id: str, month: dt.date) -> Explanation:
    """The explanation of ``partner_id`` in ``month`` (any day of it); :class:`ExplainError` when there is none."""
    month = month.replace(day=1)
    p = s.partners
    name = conn.execute(sa.select(p.c.name).where(p.c.partner_id == partner_id)).scalar_one_or_none()
    if name is None:
        raise ExplainError(f"未知合作方 {partner_id}：partners 表中没有这个合作方编号。")
    if not _has_rows(conn, partner_id, month):
        raise ExplainError(
            f"合作方 {partner_id} 在 {month:%Y-%m} 没有计算结果：该月尚未计算"
            f"（migu-assets run --from {month:%Y-%m} --to {month:%Y-%m}），"
            "或该合作方当月未计分（尚未开始合作或已终止）。"
        )
    sections = [
        _complaints(conn, partner_id, month),
        _warnings(conn, partner_id, month),
        _scores(conn, partner_id, month),
        _grade(conn, partner_id, month),
        _controls(conn, partner_id, month),
        _settlement(conn, partner_id, month),
        _renewal(conn, partner_id, month),
    ]
    return Explanation(partner_id, name, month, sections)


def _complaints(conn: sa.Connection, pid: str, month: dt.date) -> Section:
    sec = Section("不知情订购投诉与通报（第七条）")
    d = s.daily_complaint_counts
    days = _many(
        conn,
        sa.select(d).where(d.c.partner_id == pid, d.c.day >= month, d.c.day < next_month(month)).order_by(d.c.day),
    )
    for r in days:
        note = f"记通报{r['notifications']}次" if r["notifications"] else "不足5件，不记通报"
        sec.add(f"{r['day']:%Y-%m-%d} 不知情订购投诉{r['complaints']}件，{note}", "第七条/附件6")
    if not days:
        sec.add("本月无不知情订购投诉", "第七条/附件6")
    health = _one(conn, s.health_scores, pid, month)
    total = health["monthly_notifications"] if health else sum(r["notifications"] for r in days)
    sec.add(f"当月累计通报{total}次", "第八条/附件7")
    return sec


def _warnings(conn: sa.Connection, pid: str, month: dt.date) -> Section:
    sec = Section("分级预警及处罚（第八条）")
    w = s.warning_tiers
    rows = _many(conn, sa.select(w).where(w.c.partner_id == pid, w.c.month == month).order_by(w.c.tier))
    for r in rows:
        sec.add(f"{L.tier_name(r['tier'])}：{r['reason']}", r["clause"])
    if not rows:
        sec.add("当月累计通报未达到分级预警标准，无预警处罚", "附件7")
    earlier = _many(
        conn,
        sa.select(w)
        .where(
            w.c.partner_id == pid,
            w.c.month < month,
            sa.or_(w.c.promotion_suspended_until >= month, w.c.code_suspended_until >= month),
        )
        .order_by(w.c.month, w.c.tier),
    )
    for r in earlier:
        sec.add(
            f"{r['month']:%Y年%m月}的{L.tier_name(r['tier'])}处罚本月仍在执行："
            f"暂停推广至{r['promotion_suspended_until']}，暂停代码新增至{r['code_suspended_until']}",
            r["clause"],
        )
    return sec


def _scores(conn: sa.Connection, pid: str, month: dt.date) -> Section:
    sec = Section("信用积分（第九条、第十一条、附件5）")
    health = _one(conn, s.health_scores, pid, month)
    if health:
        rate = f"{health['timely_rate'] * 100:.2f}%"
        sec.add(f"健康度{health['health']}分（工单处理及时率{rate}）：{health['reason']}", health["clause"])
    else:
        sec.add("本月无健康度记录（未计分）", "附件5/健康度")
    importance = _one(conn, s.importance_scores, pid, month)
    if importance:
        sec.add(f"战略重要性{importance['importance']}分：{importance['reason']}", importance["clause"])
    monthly = _one(conn, s.monthly_credit_scores, pid, month)
    if monthly:
        sec.add(f"月度信用得分{monthly['monthly_score']}分：{monthly['reason']}", monthly["clause"])
    credit = _one(conn, s.credit_scores, pid, month)
    if credit:
        text = f"信用积分{credit['credit_score']}分（计入{credit['months_used']}个月的月度得分）：{credit['reason']}"
        sec.add(text, credit["clause"])
        if credit["violation_id"]:
            sec.add(f"重大违规{credit['violation_id']}：违规扣分至0分", "第十二条/附件8")
    elif not monthly:
        sec.add("本月无信用积分（未计分）", "第十一条")
    return sec


def _grade(conn: sa.Connection, pid: str, month: dt.date) -> Section:
    sec = Section("信用评级、处罚措施与处理期限（第十条、第十四条）")
    grade = _one(conn, s.credit_grades, pid, month)
    if not grade:
        sec.add("本月无信用评级", "第十条")
        return sec
    measures = grade["measures"] or "无处罚措施"
    sec.add(
        f"信用积分{grade['credit_score']}分，评级{L.grade_name(grade['grade'])}；处罚措施：{measures}",
        grade["clause"],
    )
    if grade["grade"] in ("A", "B"):
        sec.add(f"评级结果于{grade['issued_on']}下发，A/B级无需处理", "第十四条")
    else:
        sec.add(
            f"评级结果于{grade['issued_on']}下发，须在5个工作日内（最迟{grade['due_on']}，含当日）按评级处理",
            "第十四条",
        )
    if grade["supersedes_month"]:
        sec.add(
            f"本月结果取代{grade['supersedes_month']:%Y年%m月}尚未到期的评级结果（以最新收到的信用积分级别为准）",
            "第十四条",
        )
    g = s.credit_grades
    later = conn.execute(
        sa.select(g.c.month, g.c.grade).where(g.c.partner_id == pid, g.c.supersedes_month == month)
    ).first()
    if later:
        sec.add(
            f"本月结果已被{later.month:%Y年%m月}的{L.grade_name(later.grade)}级结果取代（以最新收到的信用积分级别为准）",
            "第十四条",
        )
    sec.add(f"评级说明：{grade['reason']}", grade["clause"])
    return sec


def _controls(conn: sa.Connection, pid: str, month: dt.date) -> Section:
    sec = Section("子渠道及业务管控（第八条、附件1–4）")
    a = s.control_actions
    rows = _many(
        conn,
        sa.select(a)
        .where(a.c.partner_id == pid, a.c.month == month)
        .order_by(a.c.start_date, a.c.source_event_id, a.c.action_id),
    )
    for r in rows:
        sec.add(_control_text(r), r["clause"])
    if not rows:
        sec.add("本月无管控事件", "附件1–4")
    earlier = _many(
        conn,
        sa.select(a)
        .where(a.c.partner_id == pid, a.c.month < month, a.c.end_date >= month)
        .order_by(a.c.start_date, a.c.action_id),
    )
    for r in earlier:
        sec.add(f"此前下达、本月仍在执行：{_control_text(r)}", r["clause"])
    return sec


def _control_text(r: dict) -> str:
    target = L.named(L.TARGET_NAMES, r["target"])
    who = {"sub_channel": r["sub_channel_id"], "business": r["business_id"]}.get(r["target"]) or ""
    scope = L.named(L.SCOPE_NAMES, r["scope"])
    period = f"{r['start_date']}至{r['end_date']}" if r["end_date"] else f"自{r['start_date']}起"
    action = L.named(L.ACTION_NAMES, r["action"])
    return f"{target}{who} {action}（{scope}，{period}，事件{r['source_event_id']}）：{r['reason']}"


def _settlement(conn: sa.Connection, pid: str, month: dt.date) -> Section:
    sec = Section("结算（第四条、第十五条、第十九条、第二十四条）")
    row = _one(conn, s.settlements, pid, month)
    if not row:
        sec.add("本月无结算记录", "第十五条")
        return sec
    status = L.named(L.SETTLEMENT_NAMES, row["status"])
    text = f"结算状态：{status}，应付{row['payable']}元"
    if row["carried_out"]:
        text += f"，结转下月{row['carried_out']}元"
    sec.add(f"{text}。{row['reason']}", row["clause"])
    sec.add(settlement_ledger_text(row), _ledger_clause(row))
    return sec


def settlement_ledger_text(row) -> str:
    """The ledger of one settlements row (SPEC v2 §7) as one Chinese line: withheld, released, exit deductions,
    paid, and the balance still held."""
    parts = [f"上月累计暂扣{row['held_in']}元", f"本月暂扣{row['withheld']}元", f"本月释放{row['released']}元"]
    if row["exit_deducted"]:
        parts.append(f"清算期满扣除退出扣款{row['exit_deducted']}元")
    parts += [f"本月实付{row['paid']}元", f"累计暂扣{row['held_balance']}元"]
    if row["status"] == "stopped" and row["held_balance"]:
        parts.append("停止结算的款项不予释放")
    return "结算台账：" + "，".join(parts) + "。"


def _ledger_clause(row) -> str:
    """The clause the ledger line applies: the 第二十四条 exit deduction, else the row's own deciding clause."""
    return "第二十四条/清算期" if row["exit_deducted"] else row["clause"]


def _renewal(conn: sa.Connection, pid: str, month: dt.date) -> Section:
    sec = Section("续约及退出（第十六至二十五条）")
    r = s.renewal_decisions
    rows = _many(
        conn, sa.select(r).where(r.c.partner_id == pid, r.c.month == month).order_by(r.c.contract_id, r.c.decision)
    )
    for row in rows:
        ban = f"，{row['reentry_banned_until']}（含当日）前不得重新开展本类合作" if row["reentry_banned_until"] else ""
        late = "，退出申请未按期提前提出" if row["late_notice"] else ""
        decision = L.named(L.DECISION_NAMES, row["decision"])
        text = f"合同{row['contract_id']}（{row['end_date']}到期）：{decision}{ban}{late}"
        reasons = (row["reasons"] or "").strip()
        sec.add(text + (f"\n{reasons}" if reasons else ""), row["clause"])
    if not rows:
        nxt = add_months(month, 1)
        sec.add(f"本月无续约评估（无{nxt:%Y年%m月}到期的合同）", "第十六条")
    return sec
