"""Importance, monthly and weighted credit, and grades for one month (附件5, 第九至十四条)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from migu_assets.compute.partners import history_starts, scored_partner_ids
from migu_assets.policy import Policy
from migu_assets.rules import credit as credit_rules
from migu_assets.rules import importance as importance_rules
from migu_assets.rules.periods import add_months, next_month
from migu_assets.rules.workdays import WorkdayCalendar
from migu_assets.warehouse import schema as s


def issue_date(conn: sa.Connection, policy: Policy, month: dt.date) -> dt.date:
    """``issued_on(month)``: the recorded ``credit_issue_dates`` row, else the default 5th working day (SPEC §5)."""
    cid = s.credit_issue_dates
    recorded = conn.execute(sa.select(cid.c.issued_on).where(cid.c.month == month)).scalar_one_or_none()
    if recorded is not None:
        return recorded if isinstance(recorded, dt.date) else dt.date.fromisoformat(str(recorded)[:10])
    return credit_rules.default_issue_date(month, policy.credit, WorkdayCalendar(policy.calendar))


def importance_rows(conn: sa.Connection, policy: Policy, month: dt.date) -> list[dict]:
    """``importance_scores`` rows for every partner scored in ``month`` (SPEC v2 §4.2: by the month's issue date)."""
    scored = scored_partner_ids(conn, month)
    issued_on = issue_date(conn, policy, month)
    parents = dict(conn.execute(sa.select(s.partners.c.partner_id, s.partners.c.parent_company_id)).tuples().all())
    d = s.importance_declarations
    decl_rows = conn.execute(
        sa.select(d.c.declaration_id, d.c.partner_id, d.c.item, d.c.authorized_by_parent, d.c.reviewed_on).where(
            d.c.review_status == "approved", d.c.reviewed_on.is_not(None)
        )
    ).all()
    per_partner: dict[str, list[importance_rules.Declaration]] = defaultdict(list)
    authorised: dict[str, set[str]] = defaultdict(set)
    for row in decl_rows:
        decl = importance_rules.Declaration(*row)
        per_partner[decl.partner_id].append(decl)
        if decl.authorized_by_parent and importance_rules.in_force(decl, issued_on):
            authorised[decl.authorized_by_parent].add(decl.partner_id)
    contested = {parent for parent, subs in authorised.items() if len(subs) > 1}
    b = s.partner_monthly_business
    business = {
        r.partner_id: {
            "info_fee_revenue": r.info_fee_revenue,
            "migu_purchases": r.migu_purchases,
            "migu_ad_spend": r.migu_ad_spend,
        }
        for r in conn.execute(sa.select(b).where(b.c.month == month))
    }
    rows = []
    for pid in scored:
        imp = importance_rules.importance_for(
            month,
            parents.get(pid),
            per_partner.get(pid, []),
            contested,
            business.get(pid),
            policy.importance,
            issued_on=issued_on,
        )
        rows.append(
            {
                "partner_id": pid,
                "month": month,
                "company_importance": imp.company,
                "operational_importance": imp.operational,
                "importance": imp.importance,
                "items": imp.items,
                "clause": importance_rules.CLAUSE,
                "reason": imp.reason,
            }
        )
    return rows


def monthly_credit_rows(conn: sa.Connection, policy: Policy, month: dt.date) -> list[dict]:
    """``monthly_credit_scores`` (SPEC §4.3) from the month's health and importance rows."""
    h, i = s.health_scores, s.importance_scores
    q = (
        sa.select(h.c.partner_id, h.c.health, sa.func.coalesce(i.c.importance, 0).label("importance"))
        .select_from(h.outerjoin(i, sa.and_(i.c.partner_id == h.c.partner_id, i.c.month == h.c.month)))
        .where(h.c.month == month)
        .order_by(h.c.partner_id)
    )
    c = policy.credit
    rows = []
    for pid, health, importance in conn.execute(q):
        score = credit_rules.monthly_score(health, importance, c)
        rows.append(
            {
                "partner_id": pid,
                "month": month,
                "health": health,
                "importance": importance,
                "monthly_score": score,
                "clause": "第十一条/附件5",
                "reason": f"月度信用得分 = {c.base} + {c.health_weight}×健康度{health} + "
                f"{c.importance_weight}×战略重要性{importance} = {score}分。",
            }
        )
    return rows


def _violations_in(conn: sa.Connection, month: dt.date) -> dict[str, tuple[str, dt.date, int]]:
    v = s.major_violations
    q = (
        sa.select(v.c.partner_id, v.c.violation_id, v.c.occurred_on, v.c.violation_type)
        .where(v.c.occurred_on >= month, v.c.occurred_on < next_month(month))
        .order_by(v.c.partner_id, v.c.occurred_on, v.c.violation_id)
    )
    out: dict[str, tuple[str, dt.date, int]] = {}
    for pid, vid, occurred, vtype in conn.execute(q):
        out.setdefault(pid, (vid, occurred, vtype))
    return out


def credit_score_rows(conn: sa.Connection, policy: Policy, month: dt.date) -> list[dict]:
    """``credit_scores`` (SPEC §5): weighted over m, m−1, m−2, renormalised; 0 on a major violation in m.

    Only months of the partner's current history count (SPEC v2 §4.3): after a re-entry the weights renormalise
    from the new contract's start month and no earlier monthly score is used.
    """
    m = s.monthly_credit_scores
    window = [add_months(month, -k) for k in range(len(policy.credit.window_weights))]
    starts = history_starts(conn, month)
    history: dict[str, dict[dt.date, Decimal]] = defaultdict(dict)
    for pid, mon, score in conn.execute(
        sa.select(m.c.partner_id, m.c.month, m.c.monthly_score).where(m.c.month.in_(window))
    ):
        mon = mon if isinstance(mon, dt.date) else dt.date.fromisoformat(str(mon)[:10])
        if pid in starts and mon < starts[pid]:
            continue  # an earlier history (before a re-entry): a fresh history starts at starts[pid]
        history[pid][mon] = score
    violations = _violations_in(conn, month)
    rows = []
    for pid in sorted(p for p, h in history.items() if month in h):
        scores = [history[pid].get(w) for w in window]
        wc = credit_rules.weighted_credit(scores, policy.credit)
        used = [
            f"{w:%Y-%m}月{sc}分×{wt:.4f}"
            for w, sc, wt in zip(
                [w for w, sc in zip(window, scores, strict=True) if sc is not None],
                [sc for sc in scores if sc is not None],
                wc.weights,
                strict=True,
            )
        ]
        row = {
            "partner_id": pid,
            "month": month,
            "credit_score": wc.credit_score,
            "months_used": wc.months_used,
            "violation_id": None,
            "clause": "第十一条",
            "reason": f"加权信用积分 = {' + '.join(used)} = {wc.credit_score}分（按已计分月份归一化权重）。",
        }
        if pid in violations:
            vid, occurred, vtype = violations[pid]
            row.update(
                credit_score=Decimal("0.00"),
                violation_id=vid,
                clause="第十二条/附件8",
                reason=f"{occurred}发生重大违规（附件8第{vtype}项，{vid}），违规扣分一次性扣减信用积分至0分"
                f"（加权计算本应为{wc.credit_score}分），自当月起终止合作、不再计分。",
            )
        rows.append(row)
    return rows


def credit_grade_rows(conn: sa.Connection, policy: Policy, month: dt.date) -> list[dict]:
    """``credit_grades`` (SPEC §5) with cumulative measures, issue and due dates, and supersession."""
    c = policy.credit
    calendar = WorkdayCalendar(policy.calendar)
    cs, cid = s.credit_scores, s.credit_issue_dates
    prev_month = add_months(month, -1)
    recorded = dict(
        conn.execute(sa.select(cid.c.month, cid.c.issued_on).where(cid.c.month.in_([month, prev_month]))).tuples().all()
    )

    def issued(mon: dt.date) -> dt.date:
        return recorded.get(mon) or credit_rules.default_issue_date(mon, c, calendar)

    scores: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    violation_of: dict[str, str] = {}
    for pid, mon, score, vid in conn.execute(
        sa.select(cs.c.partner_id, cs.c.month, cs.c.credit_score, cs.c.violation_id).where(
            cs.c.month.in_([month, prev_month])
        )
    ):
        scores[mon][pid] = score
        if mon == month and vid:
            violation_of[pid] = vid
    if not scores[month]:
        return []
    issued_on = issued(month)
    due_on = credit_rules.due_date(issued_on, c, calendar)
    prev_due = None
    if scores[prev_month]:
        prev_due = credit_rules.due_date(issued(prev_month), c, calendar)
    rows = []
    for pid, score in sorted(scores[month].items()):
        g = credit_rules.grade_for(score, c)
        prev = scores[prev_month].get(pid)
        prev_grade = credit_rules.grade_for(prev, c).grade if prev is not None else None
        sup = credit_rules.supersedes(prev_grade, prev_due, g.grade, issued_on)
        measures = "；".join(g.measures)
        if g.grade == credit_rules.TERMINATED:
            clause = "第十条/终止"
            cause = f"因重大违规{violation_of[pid]}违规扣分至0（第十二条）" if pid in violation_of else ""
            text = f"{month:%Y年%m月}信用积分{score}分（得分≤0）{cause}，终止合作"
        else:
            clause = f"第十条/{g.grade}"
            text = f"{month:%Y年%m月}信用积分{score}分（{g.band}），评级{g.grade}"
            text += f"：{measures}" if measures else "，无处罚措施"
        text += f"；结果于{issued_on}下发"
        if g.grade in credit_rules.ACTION_GRADES:
            text += f"，须于5个工作日内（最迟{due_on}，含当日，第十四条）按评级处理"
        if sup:
            text += f"；{prev_month:%Y年%m月}的{prev_grade}级结果尚未到期（{prev_due}），以最新收到的级别为准"
        rows.append(
            {
                "partner_id": pid,
                "month": month,
                "credit_score": score,
                "grade": g.grade,
                "measures": measures,
                "issued_on": issued_on,
                "due_on": due_on,
                "supersedes_month": prev_month if sup else None,
                "clause": clause,
                "reason": text + "。",
            }
        )
    return rows
