"""Settlements for a range of months (SPEC v2 §7; 第四条, 第十条, 第十五条, 第十九条, 第二十四条).

One GROUP BY (partner, month) over ``settlement_items`` up to the range's end gives every partner-month's gross,
deductions, partner share and whether it has phone-bill items. The share is rounded per item *inside* the SQL,
exactly, on both databases (:func:`item_share_sql`), so no item row comes back to Python.

**What a partition reads of the months before it.** The ledger (carry, status, withheld and held balance) is a
recurrence over months, so month m needs every earlier month. It does not read earlier ``settlements`` rows:
:func:`settlement_rows` reads, for all months up to the end of the range, the source tables
(``settlement_items``, ``major_violations``, ``payment_holds``, ``contracts``, ``exit_deductions``) and the upstream
``credit_grades`` (each month's own grade and ``supersedes_month``) and ``renewal_decisions`` (the table only),
and ``rules.settlement.ledger`` runs the recurrence from each partner's first month with items. So a month
computed alone, months in any order and one backfill give the same rows, and a sensor run for a later month never
waits for the run of an earlier one: a violation's own month is graded TERMINATED from ``major_violations``
itself, and later months of a violating partner do not read its grades (stopped, or the 第十条注 lapse).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa

from migu_assets.policy import PolicyBook
from migu_assets.rules import settlement as rules
from migu_assets.rules.periods import as_date, month_start, next_month
from migu_assets.warehouse import schema as s
from migu_assets.warehouse.schema import ScaledDecimal, exact_sum, scaled

PHONE_BILL = "phone_bill"



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
        out[pid][month_start(as_date(month))] = rules.MonthAmounts(gross, share, deductions, bool(phone_bill))
    return out


def partner_violations(conn: sa.Connection, before: dt.date) -> dict[str, list[rules.Violation]]:
    """partner → its major violations occurring before ``before``, oldest first (第十九条, both branches)."""
    v = s.major_violations
    q = (
        sa.select(v.c.partner_id, v.c.violation_id, v.c.occurred_on, v.c.violation_type, v.c.bad_credit_list)
        .where(v.c.occurred_on < before)
        .order_by(v.c.partner_id, v.c.occurred_on, v.c.violation_id)
    )
    out: dict[str, list[rules.Violation]] = defaultdict(list)
    for pid, vid, occurred, vtype, listed in conn.execute(q):
        out[pid].append(rules.Violation(vid, as_date(occurred), int(vtype), bool(listed)))
    return out


def first_violations(conn: sa.Connection, before: dt.date) -> dict[str, rules.Violation]:
    """partner → its earliest major violation occurring before ``before``."""
    return {pid: vs[0] for pid, vs in partner_violations(conn, before).items()}


def grades(
    conn: sa.Connection, end: dt.date
) -> tuple[dict[str, dict[dt.date, str]], dict[str, dict[dt.date, dt.date]]]:
    """partner → month → the month's own credit grade, and partner → superseded month → the month that
    superseded it (``credit_grades.supersedes_month``, 第十四条), for months before ``end``."""
    g = s.credit_grades
    q = sa.select(g.c.partner_id, g.c.month, g.c.grade, g.c.supersedes_month).where(g.c.month < end)
    own: dict[str, dict[dt.date, str]] = defaultdict(dict)
    superseded: dict[str, dict[dt.date, dt.date]] = defaultdict(dict)
    for pid, m, grade, sup in conn.execute(q):
        month = month_start(as_date(m))
        own[pid][month] = grade
        if sup is not None:
            superseded[pid][month_start(as_date(sup))] = month
    return own, superseded


def holds(conn: sa.Connection, start: dt.date | None, end: dt.date) -> dict[str, list[rules.Hold]]:
    """partner → payment holds touching any day in ``[start, end)`` (end_date inclusive, NULL = open; ``start``
    None = from the beginning)."""
    h = s.payment_holds
    q = sa.select(h.c.partner_id, h.c.start_date, h.c.end_date, h.c.reason).where(h.c.start_date < end)
    if start is not None:
        q = q.where(sa.or_(h.c.end_date.is_(None), h.c.end_date >= start))
    out: dict[str, list[rules.Hold]] = defaultdict(list)
    for pid, hs, he, why in conn.execute(q):
        out[pid].append(rules.Hold(as_date(hs), as_date(he) if he is not None else None, why))
    return out


def contracts_and_decisions(
    conn: sa.Connection, before: dt.date
) -> tuple[dict[str, list[rules.Contract]], dict[str, list[rules.Decision]]]:
    """partner → contracts started before ``before``; contract → its renewal decision rows of months before it."""
    c, r = s.contracts, s.renewal_decisions
    contracts: dict[str, list[rules.Contract]] = defaultdict(list)
    q = sa.select(c.c.partner_id, c.c.contract_id, c.c.start_date, c.c.end_date).where(c.c.start_date < before)
    for pid, cid, start, end in conn.execute(q):
        contracts[pid].append(rules.Contract(cid, as_date(start), as_date(end)))
    decisions: dict[str, list[rules.Decision]] = defaultdict(list)
    started = sa.select(c.c.contract_id).where(c.c.start_date < before)
    for cid, month, decision in conn.execute(
        sa.select(r.c.contract_id, r.c.month, r.c.decision).where(r.c.contract_id.in_(started), r.c.month < before)
    ):
        decisions[cid].append(rules.Decision(as_date(month), decision))
    return contracts, decisions


def exit_deductions(conn: sa.Connection, before: dt.date) -> dict[str, list[rules.ExitDeduction]]:
    """partner → its exit deductions recorded before ``before`` (第二十四条)."""
    x = s.exit_deductions
    q = sa.select(x.c.partner_id, x.c.deduction_id, x.c.kind, x.c.amount, x.c.recorded_on).where(
        x.c.recorded_on < before
    )
    out: dict[str, list[rules.ExitDeduction]] = defaultdict(list)
    for pid, did, kind, amount, recorded in conn.execute(q):
        out[pid].append(rules.ExitDeduction(did, kind, amount, as_date(recorded)))
    return out


def partner_facts(conn: sa.Connection, end: dt.date) -> dict[str, rules.PartnerFacts]:
    """partner → every fact its ledger reads for the months before ``end`` (partners with items only)."""
    amounts = monthly_amounts(conn, end)
    violations = partner_violations(conn, end)
    own_grades, superseded = grades(conn, end)
    partner_holds = holds(conn, None, end)
    contracts, decisions = contracts_and_decisions(conn, end)
    deductions = exit_deductions(conn, end)
    return {
        pid: rules.PartnerFacts(
            amounts=amounts[pid],
            violations=tuple(violations.get(pid, ())),
            grades=own_grades.get(pid, {}),
            superseded_by=superseded.get(pid, {}),
            holds=tuple(partner_holds.get(pid, ())),
            contracts=tuple(contracts.get(pid, ())),
            decisions={k.contract_id: decisions.get(k.contract_id, []) for k in contracts.get(pid, ())},
            exit_deductions=tuple(deductions.get(pid, ())),
        )
        for pid in sorted(amounts)
    }


def row(pid: str, e: rules.LedgerEntry) -> dict:
    """One ``settlements`` row from a ledger entry."""
    b = e.balance
    return {
        "partner_id": pid,
        "month": b.month,
        "gross": b.gross,
        "partner_share": b.partner_share,
        "deductions": b.deductions,
        "carried_in": b.carried_in,
        "net": b.net,
        "payable": b.payable,
        "carried_out": b.carried_out,
        "held_in": e.held_in,
        "withheld": e.withheld,
        "released": e.released,
        "exit_deducted": e.exit_deducted,
        "paid": e.paid,
        "held_balance": e.held_balance,
        "status": e.status.status,
        "clause": e.status.clause,
        "reason": rules.entry_reason(e),
    }


def settlement_rows(conn: sa.Connection, book: PolicyBook, months: Sequence[dt.date]) -> dict[dt.date, list[dict]]:
    """``settlements`` rows for each of ``months`` (first days), keyed by month (SPEC v2 §7).

    A row exists for every partner-month with items, a non-zero ``carried_in``, a non-zero ``held_in``, or exit
    deductions applied. Every row is computed from the partner's first month on (see the module doc).
    """
    wanted = sorted({month_start(m) for m in months})
    if not wanted:
        return {}
    end = next_month(wanted[-1])
    for m in wanted:
        book.for_month(m)  # a requested month without a policy version is an error, as before
    earliest = book.versions[0]

    def rules_for(m: dt.date):
        # an earlier month of the recurrence (items before the first policy version) uses the earliest version
        return (book.for_month(m) if m >= earliest.effective_from else earliest).settlement

    out: dict[dt.date, list[dict]] = {m: [] for m in wanted}
    for pid, facts in partner_facts(conn, end).items():
        for e in rules.ledger(facts, wanted[-1], rules_for):
            if e.balance.month in out:
                out[e.balance.month].append(row(pid, e))
    return out


def settlement_month_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``settlements`` rows of one month (the compute signature of every monthly table), from source items."""
    return settlement_rows(conn, book, [month])[month_start(month)]


# ---------------------------------------------------------------- checks
def reconciliation(conn: sa.Connection) -> list[dict]:
    """Per month that has settlement rows: Σ gross / Σ deductions of the settlements against Σ info_fee /
    Σ deductions of ``settlement_items``, both summed in SQL (exact). Only mismatching months are returned."""
    st, si = s.settlements, s.settlement_items
    ours = {
        month_start(as_date(m)): (g, d)
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
        month_start(as_date(m)): (g, d)
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
    """Rows whose arithmetic or ledger does not add up.

    ``net = partner_share − deductions + carried_in``; ``payable = max(net, 0)``; ``carried_out ≤ min(net, 0)``
    (lower only by the part of an exit deduction larger than the held balance, in a row that applied exit
    deductions); ``withheld`` is 0 or the payable (the payable when held or stopped); ``paid = payable − withheld +
    released``; ``held_balance = held_in + withheld − released − exit_deducted ≥ 0``; nothing is released or
    deducted by a held or stopped row.
    """
    st = s.settlements
    c = {name: scaled(st.c[name]) for name in (  # exact integer cents on SQLite
        "net", "partner_share", "deductions", "carried_in", "payable", "carried_out",
        "held_in", "withheld", "released", "exit_deducted", "paid", "held_balance",
    )}
    zero = sa.literal(0, sa.Integer)
    withholding = st.c.status.in_([rules.HELD, rules.STOPPED])
    q = sa.select(sa.func.count()).where(
        sa.or_(
            c["net"] != c["partner_share"] - c["deductions"] + c["carried_in"],
            c["payable"] < zero,
            c["carried_out"] > zero,
            sa.and_(c["net"] < zero, c["payable"] != zero),
            sa.and_(c["net"] >= zero, c["payable"] != c["net"]),
            sa.and_(c["net"] < zero, c["carried_out"] > c["net"]),
            sa.and_(withholding, c["withheld"] != c["payable"]),
            sa.and_(sa.not_(withholding), c["withheld"] != zero),
            sa.and_(withholding, sa.or_(c["released"] != zero, c["exit_deducted"] != zero)),
            c["paid"] != c["payable"] - c["withheld"] + c["released"],
            c["held_balance"] != c["held_in"] + c["withheld"] - c["released"] - c["exit_deducted"],
            c["held_balance"] < zero,
            c["held_in"] < zero,
            c["released"] < zero,
            c["exit_deducted"] < zero,
        )
    )
    return int(conn.execute(q).scalar_one())


def conservation_violations(conn: sa.Connection) -> list[dict]:
    """Per partner, money conservation (SPEC v2 §7): Σ paid + Σ exit_deducted + last held_balance = Σ payable,
    to the cent, summed in SQL. Over stored rows that start after the partner's first month the first row's
    ``held_in`` is what earlier months left held, so the check reads ``… = Σ payable + first held_in`` (the same
    when the history starts at the first month, where ``held_in`` is 0). Only partners that do not balance are
    returned."""
    st = s.settlements
    bounds = (
        sa.select(
            st.c.partner_id,
            sa.func.min(st.c.month).label("first"),
            sa.func.max(st.c.month).label("last"),
            exact_sum(st.c.paid).label("paid"),
            exact_sum(st.c.exit_deducted).label("exit_deducted"),
            exact_sum(st.c.payable).label("payable"),
        )
        .group_by(st.c.partner_id)
        .subquery()
    )
    first, last = st.alias("first_row"), st.alias("last_row")
    q = (
        sa.select(
            bounds.c.partner_id,
            bounds.c.paid,
            bounds.c.exit_deducted,
            bounds.c.payable,
            first.c.held_in,
            last.c.held_balance,
        )
        .join(first, sa.and_(first.c.partner_id == bounds.c.partner_id, first.c.month == bounds.c.first))
        .join(last, sa.and_(last.c.partner_id == bounds.c.partner_id, last.c.month == bounds.c.last))
        .order_by(bounds.c.partner_id)
    )
    bad = []
    for pid, paid, deducted, payable, held_in, held_balance in conn.execute(q):
        if paid + deducted + held_balance != payable + held_in:
            bad.append(
                {
                    "partner_id": pid,
                    "paid": str(paid),
                    "exit_deducted": str(deducted),
                    "last_held_balance": str(held_balance),
                    "payable": str(payable),
                    "first_held_in": str(held_in),
                }
            )
    return bad
