"""Renewal decisions (第十六至二十五条, SPEC §8): read one month's facts with SQL, decide with the pure rules.

Month m reviews the contracts ending in month m + ``lead_months`` using only what is known by the end of m:
violations with ``occurred_on`` ≤ end of m and credit scores of months ≤ m. The same month also carries the
第二十五条 ``abandoned`` rows of contracts whose signing deadline (``decision_on`` + 6 months) falls in it; adding
calendar months keeps a day in its target month, so those are exactly the contracts decided in month m − 6.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from migu_assets.compute import row_of
from migu_assets.policy import Policy, PolicyBook
from migu_assets.rules import renewal as rules
from migu_assets.rules.numbers import to_decimal
from migu_assets.rules.periods import add_months, as_date, next_month
from migu_assets.warehouse.schema import contracts, credit_scores, major_violations, partners


def _contract(row: sa.RowMapping) -> rules.Contract:
    return rules.Contract(
        contract_id=row["contract_id"],
        partner_id=row["partner_id"],
        start_date=as_date(row["start_date"]),
        end_date=as_date(row["end_date"]),
        rights_delivered=bool(row["rights_delivered"]),
        product_launched=bool(row["product_launched"]),
        launch_blocked_by_partner=bool(row["launch_blocked_by_partner"]),
        qualification_ok=bool(row["qualification_ok"]),
        exit_requested_on=as_date(row["exit_requested_on"]),
        decision_on=as_date(row["decision_on"]),
        signed_on=as_date(row["signed_on"]),
    )


def _contracts_where(conn: sa.Connection, *conditions) -> list[rules.Contract]:
    q = sa.select(contracts).where(*conditions).order_by(contracts.c.contract_id)
    return [_contract(r) for r in conn.execute(q).mappings()]


def partner_records(
    conn: sa.Connection, partner_ids: set[str], month: dt.date, policy: Policy
) -> dict[str, rules.PartnerRecord]:
    """What is known at the end of ``month`` about each partner: platform flag, violations, credit scores."""
    if not partner_ids:
        return {}
    ids = sorted(partner_ids)
    end = next_month(month)
    p = partners.c
    q = sa.select(p.partner_id, p.on_network_rights_platform).where(p.partner_id.in_(ids))
    platform = {pid: bool(flag) for pid, flag in conn.execute(q)}
    violations: dict[str, list[rules.Violation]] = defaultdict(list)
    v = major_violations.c
    q = sa.select(v.partner_id, v.violation_id, v.occurred_on, v.violation_type, v.bad_credit_list).where(
        v.partner_id.in_(ids), v.occurred_on < end
    )
    for pid, vid, occurred, vtype, bad in conn.execute(q):
        violations[pid].append(rules.Violation(vid, as_date(occurred), vtype, bool(bad)))
    c = credit_scores.c
    zero = {
        pid: as_date(first)
        for pid, first in conn.execute(
            sa.select(c.partner_id, sa.func.min(c.month))
            .where(c.partner_id.in_(ids), c.month <= month, c.credit_score <= 0)
            .group_by(c.partner_id)
        )
    }
    window_start = rules.review_months(month, policy.renewal)[0]
    scores: dict[str, dict[dt.date, Decimal]] = defaultdict(dict)
    q = sa.select(c.partner_id, c.month, c.credit_score).where(
        c.partner_id.in_(ids), c.month >= window_start, c.month <= month
    )
    for pid, m, score in conn.execute(q):
        scores[pid][as_date(m)] = to_decimal(score)
    return {
        pid: rules.PartnerRecord(
            partner_id=pid,
            on_network_rights_platform=platform.get(pid, False),
            violations=tuple(violations.get(pid, ())),
            first_zero_credit_month=zero.get(pid),
            credit_scores=dict(scores.get(pid, {})),
        )
        for pid in ids
    }


def renewal_rows(conn: sa.Connection, book: PolicyBook, month: dt.date) -> list[dict]:
    """``renewal_decisions`` rows of ``month``: one per contract under review, plus 第二十五条 abandonments."""
    policy = book.for_month(month)
    r = policy.renewal
    first_end = add_months(month, r.lead_months)
    reviewed = _contracts_where(conn, contracts.c.end_date >= first_end, contracts.c.end_date < next_month(first_end))
    decided_in = add_months(month, -r.abandon_after_months)
    decided = _contracts_where(
        conn,
        contracts.c.decision_on.is_not(None),
        contracts.c.decision_on >= decided_in,
        contracts.c.decision_on < next_month(decided_in),
    )
    records = partner_records(conn, {k.partner_id for k in reviewed}, month, policy)
    out = [rules.decide(k, records[k.partner_id], month, r) for k in reviewed]
    out += [row for k in decided if (row := rules.abandonment(k, month, r)) is not None]
    return [row_of(row) for row in sorted(out, key=lambda d: (d.contract_id, d.decision))]
