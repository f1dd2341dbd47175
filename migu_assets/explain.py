"""``migu-assets explain``: why a partner has its grade and measures in a month, step by step, each with its clause.

Reads only the warehouse's output tables (no Dagster, no recomputation): the complaints and notifications by day
(第七条/附件6), the warning tiers and their suspensions (第八条/附件7), health (附件5), importance (附件5), the monthly
score and the weighted credit with the weights used (第十一条), a major violation (第十二条), the grade band and its
measures (第十条), issue and due dates, supersession and the grade in force (第十四条, SPEC v2 §5), control actions
(附件1–4), each measure of the month with its due date and status in the execution ledger as of a day (SPEC v2 §5a),
settlement (第七章) and renewal decisions (第八章).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from migu_assets import vocabulary as L
from migu_assets.compute.measures import ledger_rows, month_results
from migu_assets.compute.status import today
from migu_assets.policy import Policy, PolicyBook, load_policy_book
from migu_assets.rules.credit import grade_in_force
from migu_assets.rules.periods import add_months, next_month
from migu_assets.rules.workdays import UnknownCalendarYear
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


def explain(
    conn: sa.Connection,
    partner_id: str,
    month: dt.date,
    book: PolicyBook | None = None,
    as_of: dt.date | None = None,
) -> Explanation:
    """The explanation of ``partner_id`` in ``month`` (any day of it); :class:`ExplainError` when there is none.

    Numbers in the text (thresholds, response days, grades needing action) come from the policy version in force
    in ``month`` (``book``, default: :func:`load_policy_book`, which honours ``MIGU_POLICY_DIR``). ``as_of``
    (default today, Asia/Shanghai) is the day the grade in force and the measures' statuses describe.
    """
    month = month.replace(day=1)
    book = book or load_policy_book()
    policy = book.for_month(month)
    as_of = as_of or today()
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
        _complaints(conn, partner_id, month, policy),
        _warnings(conn, partner_id, month),
        _scores(conn, partner_id, month),
        _grade(conn, partner_id, month, book, as_of),
        _controls(conn, partner_id, month),
        _measures(conn, partner_id, month, book, as_of),
        _settlement(conn, partner_id, month),
        _renewal(conn, partner_id, month),
    ]
    return Explanation(partner_id, name, month, sections)


def _complaints(conn: sa.Connection, pid: str, month: dt.date, policy: Policy) -> Section:
    sec = Section("不知情订购投诉与通报（第七条）")
    d = s.daily_complaint_counts
    days = _many(
        conn,
        sa.select(d).where(d.c.partner_id == pid, d.c.day >= month, d.c.day < next_month(month)).order_by(d.c.day),
    )
    for r in days:
        threshold = policy.complaints.notification_threshold
        note = f"记通报{r['notifications']}次" if r["notifications"] else f"不足{threshold}件，不记通报"
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


def _grade(conn: sa.Connection, pid: str, month: dt.date, book: PolicyBook, as_of: dt.date) -> Section:
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
    credit = book.for_month(month).credit
    if grade["grade"] not in credit.action_grades:
        calm = "/".join(g.grade for g in credit.grades if not g.measures)
        sec.add(f"评级结果于{grade['issued_on']}下发，{calm}级无需处理", "第十四条")
    else:
        sec.add(
            f"评级结果于{grade['issued_on']}下发，须在{credit.response_working_days}个工作日内"
            f"（最迟{grade['due_on']}，含当日）按评级处理",
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
            f"本月结果已被{later.month:%Y年%m月}的{L.grade_label(later.grade)}结果取代（以最新收到的信用积分级别为准）",
            "第十四条",
        )
    results = month_results(conn, book, [pid]).get(pid, {})
    in_force = grade_in_force(month, results, as_of)
    if in_force is not None and in_force.month != month:
        sec.add(
            f"截至{as_of}，本月有效评级为{in_force.month:%Y年%m月}结果的{L.grade_name(in_force.grade)}"
            "（取代链逐月追溯，以最新收到的信用积分级别为准）",
            "第十四条",
        )
    elif in_force is not None:
        sec.add(f"截至{as_of}，本月有效评级即本月评级{L.grade_name(in_force.grade)}", "第十四条")
    sec.add(f"评级说明：{grade['reason']}", grade["clause"])
    return sec


def _measures(conn: sa.Connection, pid: str, month: dt.date, book: PolicyBook, as_of: dt.date) -> Section:
    sec = Section(f"处罚措施执行情况（截至{as_of}，第十四条、第十条注）")
    try:
        rows = [r for r in ledger_rows(conn, book, as_of, [pid]) if r["month"] == month]
    except UnknownCalendarYear as exc:  # overdue working days need the year's official calendar
        sec.add(f"无法计算逾期工作日：{exc}", "第十四条")
        return sec
    for r in rows:
        status = L.named(L.MEASURE_STATUS_NAMES, r["status"])
        what = L.named(L.MEASURE_NAMES, r["code"])
        text = f"{what}（{r['measure_id']}）：最迟{r['due_on']}执行，状态：{status}"
        if r["status"] == "overdue":
            text += f"，已逾期{r['working_days_overdue']}个工作日"
        if r["executed_on"]:
            text += f"（{r['executed_by']}于{r['executed_on']}执行）"
        sec.add(text, "第十条注" if r["status"] == "lapsed" else r["clause"])
    if not rows:
        sec.add("本月无须执行的处罚措施", "第十四条")
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
    return f"{L.control_action_text(r, '事件' + r['source_event_id'])}：{r['reason']}"


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
