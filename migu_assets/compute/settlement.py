"""Settlements for a range of months (SPEC §7; 第四条, 第十五条, 第十九条, 第二十四条).

One GROUP BY (partner, month) over ``settlement_items`` up to the range's end gives every partner-month's gross,
deductions, partner share and whether it has phone-bill items. The share is rounded per item *inside* the SQL,
exactly, on both databases (:func:`item_share_sql`), so no item row comes back to Python. The negative-balance
recurrence then runs in Python from each partner's first month (``rules.settlement.running_balances``): a month's
rows depend only on source tables, never on stored settlements, so months computed alone, in any order or as one
backfill give the same rows. The status reads ``major_violations``, ``credit_grades`` (same month),
``payment_holds``, ``contracts`` and ``renewal_decisions`` (the table only: the asset does not depend on
``renewal_decisions``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa

from migu_assets.policy import PolicyBook
from migu_assets.rules import settlement as rules
from migu_assets.rules.periods import month_start, next_month
from migu_assets.warehouse import schema as s
from migu_assets.warehouse.schema import ScaledDecimal, exact_sum, scaled

PHONE_BILL = "phone_bill"


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def item_share_sql(dialect: str) -> sa.ColumnElement:
    """One item's ``round2(info_fee × share_ratio)`` half-up (第四条), computed exactly in the database.

    PostgreSQL: ``round(numeric, 2)`` rounds half away from zero, which is half-up for the non-negative amounts
    the data contract allows. SQLite: both operands as exact integers (:func:`~migu_assets.warehouse.schema.scaled`:
    cents, ratio × 10^4); the product is in 10^-6 yuan and ``(product + 5000) / 10000`` in integer arithmetic is the
    half-up cent. Either way the expression is in :class:`ScaledDecimal` units (sum it with ``sa.func.sum``).
    """
    si = s.settlement_items
    if dialect == "sqlite":
        ratio_scale = 10**si.c.share_ratio.type.scale
        fee = sa.type_coerce(scaled(si.c.info_fee), sa.BigInteger)
        ratio = sa.type_coerce(scaled(si.c.share_ratio), sa.BigInteger)
        cents = (fee * ratio + sa.literal(ratio_scale // 2, sa.BigInteger)) // sa.literal(ratio_scale, sa.BigInteger)
        return sa.type_coerce(cents, ScaledDecimal(2))
    product = sa.type_coerce(si.c.info_fee, sa.Numeric) * sa.type_coerce(si.c.share_ratio, sa.Numeric)
    return sa.type_coerce(sa.func.round(product, 2), ScaledDecimal(2))


def monthly_amounts(conn: sa.Connection, before: dt.date) -> dict[str, dict[dt.date, rules.MonthAmounts]]:
    """partner → month → summed items, for every month before ``before`` (one GROUP BY, exact sums)."""
    si = s.settlement_items
    phone = sa.func.max(sa.case((si.c.payment_method == PHONE_BILL, 1), else_=0))
    q = (
        sa.select(
            si.c.partner_id,
            si.c.month,
            exact_sum(si.c.info_fee).label("gross"),
            sa.func.sum(item_share_sql(conn.dialect.name), type_=ScaledDecimal(2)).label("partner_share"),
            exact_sum(si.c.deductions).label("deductions"),
            phone.label("phone_bill"),
        )
        .where(si.c.month < before)
        .group_by(si.c.partner_id, si.c.month)
    )
    out: dict[str, dict[dt.date, rules.MonthAmounts]] = defaultdict(dict)
    for pid, month, gross, share, deductions, phone_bill in conn.execute(q):
        out[pid][month_start(_as_date(month))] = rules.MonthAmounts(gross, share, deductions, bool(phone_bill))
    return out


def first_violations(conn: sa.Connection, before: dt.date) -> dict[str, rules.Violation]:
    """partner → its earliest major violation occurring before ``before`` (第十九条)."""
    v = s.major_violations
    q = (
        sa.select(v.c.partner_id, v.c.violation_id, v.c.occurred_on, v.c.violation_type)
        .where(v.c.occurred_on < before)
        .order_by(v.c.partner_id, v.c.occurred_on, v.c.violation_id)
    )
    out: dict[str, rules.Violation] = {}
    for pid, vid, occurred, vtype in conn.execute(q):
        out.setdefault(pid, rules.Violation(vid, _as_date(occurred), int(vtype)))
    return out


def grades(conn: sa.Connection, start: dt.date, end: dt.date) -> dict[tuple[str, dt.date], str]:
    """(partner, month) → the month's own credit grade, for months in ``[start, end)``."""
    g = s.credit_grades
    q = sa.select(g.c.partner_id, g.c.month, g.c.grade).where(g.c.month >= start, g.c.month < end)
    return {(pid, month_start(_as_date(m))): grade for pid, m, grade in conn.execute(q)}


def holds(conn: sa.Connection, start: dt.date, end: dt.date) -> dict[str, list[rules.Hold]]:
    """partner → payment holds touching any day in ``[start, end)`` (end_date inclusive, NULL = open)."""
    h = s.payment_holds
    q = sa.select(h.c.partner_id, h.c.start_date, h.c.end_date, h.c.reason).where(
        h.c.start_date < end, sa.or_(h.c.end_date.is_(None), h.c.end_date >= start)
    )
    out: dict[str, list[rules.Hold]] = defaultdict(list)
    for pid, hs, he, why in conn.execute(q):
        out[pid].append(rules.Hold(_as_date(hs), _as_date(he) if he is not None else None, why))
    return out


def contracts_and_decisions(
    conn: sa.Connection, before: dt.date
) -> tuple[dict[str, list[rules.Contract]], dict[str, list[rules.Decision]]]:
    """partner → contracts started before ``before``; contract → its renewal decision rows."""
    c, r = s.contracts, s.renewal_decisions
    contracts: dict[str, list[rules.Contract]] = defaultdict(list)
    q = sa.select(c.c.partner_id, c.c.contract_id, c.c.start_date, c.c.end_date).where(c.c.start_date < before)
    for pid, cid, start, end in conn.execute(q):
        contracts[pid].append(rules.Contract(cid, _as_date(start), _as_date(end)))
    decisions: dict[str, list[rules.Decision]] = defaultdict(list)
    started = sa.select(c.c.contract_id).where(c.c.start_date < before)
    for cid, month, decision in conn.execute(
        sa.select(r.c.contract_id, r.c.month, r.c.decision).where(r.c.contract_id.in_(started))
    ):
        decisions[cid].append(rules.Decision(_as_date(month), decision))
    return contracts, decisions


def settlement_rows(conn: sa.Connection, book: PolicyBook, months: Sequence[dt.date]) -> dict[dt.date, list[dict]]:
    """``settlements`` rows for each of ``months`` (first days), keyed by month (SPEC §7).

    A row exists for every partner-month with items or a non-zero ``carried_in``.
    """
    wanted = sorted({month_start(m) for m in months})
    if not wanted:
        return {}
    start, end = wanted[0], next_month(wanted[-1])
    amounts = monthly_amounts(conn, end)
    violations = first_violations(conn, end)
    month_grades = grades(conn, start, end)
    partner_holds = holds(conn, start, end)
    contracts, decisions = contracts_and_decisions(conn, end)

    out: dict[dt.date, list[dict]] = {m: [] for m in wanted}
    for pid in sorted(amounts):
        for b in rules.running_balances(amounts[pid], wanted[-1]):
            if b.month not in out:
                continue
            status = rules.settlement_status(
                b.month,
                has_phone_bill=b.has_phone_bill,
                violation=violations.get(pid),
                grade=month_grades.get((pid, b.month)),
                holds=partner_holds.get(pid, ()),
                ended=rules.cooperation_end(b.month, contracts.get(pid, ()), decisions),
                rules=book.for_month(b.month).settlement,
            )
            out[b.month].append(
                {
                    "partner_id": pid,
                    "month": b.month,
                    "gross": b.gross,
                    "partner_share": b.partner_share,
                    "deductions": b.deductions,
                    "carried_in": b.carried_in,
                    "net": b.net,
                    "payable": b.payable,
                    "carried_out": b.carried_out,
                    "status": status.status,
                    "clause": status.clause,
                    "reason": rules.reason(b, status),
                }
            )
    return out


# ---------------------------------------------------------------- checks
def reconciliation(conn: sa.Connection) -> list[dict]:
    """Per month that has settlement rows: Σ gross / Σ deductions of the settlements against Σ info_fee /
    Σ deductions of ``settlement_items``, both summed in SQL (exact). Only mismatching months are returned."""
    st, si = s.settlements, s.settlement_items
    ours = {
        month_start(_as_date(m)): (g, d)
        for m, g, d in conn.execute(
            sa.select(
                st.c.month,
                exact_sum(st.c.gross),
                exact_sum(st.c.deductions),
            ).group_by(st.c.month)
        )
    }
    if not ours:
        return []
    theirs = {
        month_start(_as_date(m)): (g, d)
        for m, g, d in conn.execute(
            sa.select(
                si.c.month,
                exact_sum(si.c.info_fee),
                exact_sum(si.c.deductions),
            )
            .where(si.c.month >= min(ours), si.c.month <= max(ours))
            .group_by(si.c.month)
        )
    }
    zero = (rules.ZERO, rules.ZERO)
    bad = []
    for month in sorted(ours):
        (g, d), (ig, idd) = ours[month], theirs.get(month, zero)
        if g != ig or d != idd:
            bad.append(
                {
                    "month": str(month),
                    "gross": str(g),
                    "info_fee": str(ig),
                    "deductions": str(d),
                    "item_deductions": str(idd),
                }
            )
    return bad


def arithmetic_violations(conn: sa.Connection) -> int:
    """Rows where ``net ≠ partner_share − deductions + carried_in`` or payable/carried_out do not split net."""
    st = s.settlements
    net, share, deductions, carried_in, payable, carried_out = (
        scaled(c) for c in (st.c.net, st.c.partner_share, st.c.deductions, st.c.carried_in, st.c.payable,
                            st.c.carried_out)
    )  # exact integer cents on SQLite
    zero = sa.literal(0, sa.Integer)
    q = sa.select(sa.func.count()).where(
        sa.or_(
            net != share - deductions + carried_in,
            payable + carried_out != net,
            payable < zero,
            carried_out > zero,
            sa.and_(net < zero, payable != zero),
            sa.and_(net >= zero, carried_out != zero),
        )
    )
    return int(conn.execute(q).scalar_one())
