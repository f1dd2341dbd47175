"""Importance, monthly and weighted credit, and grades for one month (附件5, 第九至十四条)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from migu_assets.compute.partners import history_starts, scored_partner_ids
from migu_assets.policy import Policy, PolicyBook
from migu_assets.rules import credit as credit_rules
from migu_assets.rules import importance as importance_rules
from migu_assets.rules.periods import add_months, as_date, next_month
from migu_assets.rules.workdays import WorkdayCalendar
from migu_assets.vocabulary import measure_names
from migu_assets.warehouse import schema as s


def issue_date(conn: sa.Connection, policy: Policy, month: dt.date) -> dt.date:
    """``issued_on(month)``: the recorded ``credit_issue_dates`` row, else the default 5th working day (SPEC §5)."""
    cid = s.credit_issue_dates
    recorded = conn.execute(sa.select(cid.c.issued_on).where(cid.c.month == month)).scalar_one_or_none()
    if recorded is not None:
        return as_date(recorded)
    return credit_rules.default_issue_date(month, policy.credit, WorkdayCalendar(policy.calendar))


def importance_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``importance_scores`` rows for every partner scored in ``month`` (SPEC v2 §4.2: by the month's issue date)."""
    policy = book.for_month(month)
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


def monthly_credit_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``monthly_credit_scores`` (SPEC §4.3) from the month's health and importance rows."""
    policy = book.for_month(month)
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
                "reason": credit_rules.monthly_score_reason(health, importance, score, c),
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


def credit_score_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``credit_scores`` (SPEC §5): weighted over m, m−1, m−2, renormalised; 0 on a major violation in m.

    Only months of the partner's current history count (SPEC v2 §4.3): after a re-entry the weights renormalise
    from the new contract's start month and no earlier monthly score is used.
    """
    policy = book.for_month(month)
    m = s.monthly_credit_scores
    window = [add_months(month, -k) for k in range(len(policy.credit.window_weights))]
    starts = history_starts(conn, month)
    history: dict[str, dict[dt.date, Decimal]] = defaultdict(dict)
    for pid, mon, score in conn.execute(
        sa.select(m.c.partner_id, m.c.month, m.c.monthly_score).where(m.c.month.in_(window))
    ):
        mon = as_date(mon)
        if pid in starts and mon < starts[pid]:
            continue  # an earlier history (before a re-entry): a fresh history starts at starts[pid]
        history[pid][mon] = score
    violations = _violations_in(conn, month)
    rows = []
    for pid in sorted(p for p, h in history.items() if month in h):
        scores = [history[pid].get(w) for w in window]
        wc = credit_rules.weighted_credit(scores, policy.credit)
        row = {
            "partner_id": pid,
            "month": month,
            "credit_score": wc.credit_score,
            "months_used": wc.months_used,
            "violation_id": None,
            "clause": "第十一条",
            "reason": credit_rules.weighted_reason(window, scores, wc),
        }
        if pid in violations:
            vid, occurred, vtype = violations[pid]
            zero = credit_rules.violation_zeroing(wc, vid, as_date(occurred), vtype)
            row.update(credit_score=zero.credit_score, violation_id=vid, clause=zero.clause, reason=zero.reason)
        rows.append(row)
    return rows


def credit_grade_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``credit_grades`` (SPEC §5) with cumulative measures, issue and due dates, and supersession (SPEC v2 §5:
    a result issued within the previous month's C–F response days supersedes it, whatever its own grade). Each
    month is read with its own policy version, the previous month's grade and due date with the previous one's."""
    policy = book.for_month(month)
    prev_month = add_months(month, -1)
    prev_policy = book.for_month(prev_month) if prev_month >= book.versions[0].effective_from else policy
    c, calendar = policy.credit, WorkdayCalendar(policy.calendar)
    cs = s.credit_scores
    scores: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    violation_of: dict[str, str] = {}
    for pid, mon, score, vid in conn.execute(
        sa.select(cs.c.partner_id, cs.c.month, cs.c.credit_score, cs.c.violation_id).where(
            cs.c.month.in_([month, prev_month])
        )
    ):
        scores[as_date(mon)][pid] = score
        if as_date(mon) == month and vid:
            violation_of[pid] = vid
    if not scores[month]:
        return []
    issued_on = issue_date(conn, policy, month)
    due_on = credit_rules.due_date(issued_on, c, calendar)
    prev_due = None
    if scores[prev_month]:
        prev_calendar = WorkdayCalendar(prev_policy.calendar)
        prev_due = credit_rules.due_date(issue_date(conn, prev_policy, prev_month), prev_policy.credit, prev_calendar)
    rows = []
    for pid, score in sorted(scores[month].items()):
        g = credit_rules.grade_for(score, c)
        prev = scores[prev_month].get(pid)
        prev_grade = credit_rules.grade_for(prev, prev_policy.credit).grade if prev is not None else None
        sup = credit_rules.supersedes(prev_grade, prev_due, issued_on, prev_policy.credit)
        clause, reason = credit_rules.grade_clause_and_reason(
            month,
            score,
            g,
            issued_on,
            due_on,
            c,
            violation_id=violation_of.get(pid),
            superseded=credit_rules.Superseded(prev_month, prev_grade, prev_due) if sup else None,
        )
        rows.append(
            {
                "partner_id": pid,
                "month": month,
                "credit_score": score,
                "grade": g.grade,
                "measures": "；".join(measure_names(g.measures)),
                "issued_on": issued_on,
                "due_on": due_on,
                "supersedes_month": prev_month if sup else None,
                "clause": clause,
                "reason": reason,
            }
        )
    return rows
