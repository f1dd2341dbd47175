"""Which partners are scored in a month (SPEC v2 §4.3), and contracts that start inside a re-entry ban.

A partner is scored from the month of ``cooperation_start`` until the month of a major violation (第十二条/第十九条:
scored there with credit 0, not after). A terminated partner is scored again only from the start month of a
contract whose ``start_date`` is after the violation day, with a fresh history (:func:`history_starts`: the
weighted credit renormalises from that month). The rule itself is :func:`migu_assets.rules.credit.scoring_start`.

A contract starting on or before an earlier ``reentry_banned_until`` of the same partner breaches the ban
(:func:`ban_breaches`): the bans are the ``renewal_decisions`` rows' and, so a breach is seen before any renewal
row names it, the 第十九条 ban of each major violation without ``bad_credit_list`` (``occurred_on`` + the policy's
years). Reading: the partner is still scored from such a contract (the data says it cooperates again); the breach
is an ERROR asset check and a line in ``partner_status``, for staff to act on.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from migu_assets.policy import PolicyBook
from migu_assets.rules.credit import scoring_start
from migu_assets.rules.periods import as_date, month_start, next_month
from migu_assets.rules.renewal import ban_until
from migu_assets.warehouse.schema import contracts, major_violations, partners, renewal_decisions


def history_starts(conn: sa.Connection, month: dt.date) -> dict[str, dt.date]:
    """partner_id → first month of its current history, for every partner scored in ``month``."""
    end = next_month(month)
    violations: dict[str, list[dt.date]] = defaultdict(list)
    for pid, occurred in conn.execute(
        sa.select(major_violations.c.partner_id, major_violations.c.occurred_on).where(
            major_violations.c.occurred_on < end
        )
    ):
        violations[pid].append(as_date(occurred))
    starts: dict[str, list[dt.date]] = defaultdict(list)
    if violations:
        for pid, start in conn.execute(
            sa.select(contracts.c.partner_id, contracts.c.start_date).where(
                contracts.c.start_date < end, contracts.c.partner_id.in_(sorted(violations))
            )
        ):
            starts[pid].append(as_date(start))
    out: dict[str, dt.date] = {}
    q = sa.select(partners.c.partner_id, partners.c.cooperation_start).where(partners.c.cooperation_start < end)
    for pid, coop in conn.execute(q.order_by(partners.c.partner_id)):
        first = scoring_start(month, as_date(coop), violations.get(pid, ()), starts.get(pid, ()))
        if first is not None:
            out[pid] = first
    return out


def scored_partner_ids(conn: sa.Connection, month: dt.date) -> list[str]:
    """Partners scored in ``month``: cooperation started by its end, not terminated, or re-entered (§4.3)."""
    return sorted(history_starts(conn, month))


@dataclass(frozen=True)
class BanBreach:
    partner_id: str
    contract_id: str
    start_date: dt.date
    banned_until: dt.date
    source: str  # what set the ban (renewal row or violation)

    @property
    def text(self) -> str:
        return (
            f"合同{self.contract_id}于{self.start_date}开始，处于{self.source}设定的禁入期内"
            f"（{self.banned_until}前含当日不得重新开展合作，第十七、十九、二十条）"
        )


def ban_breaches(conn: sa.Connection, book: PolicyBook) -> list[BanBreach]:
    """Contracts whose ``start_date`` is on or before an earlier ``reentry_banned_until`` of the same partner."""
    bans: dict[str, list[tuple[dt.date, dt.date, str]]] = defaultdict(list)  # pid → (set on, until, source)
    r = renewal_decisions.c
    for pid, cid, end_date, until in conn.execute(
        sa.select(r.partner_id, r.contract_id, r.end_date, r.reentry_banned_until).where(
            r.reentry_banned_until.is_not(None)
        )
    ):
        bans[pid].append((as_date(end_date), as_date(until), f"合同{cid}的续约决定"))
    v = major_violations.c
    for pid, vid, occurred, listed in conn.execute(
        sa.select(v.partner_id, v.violation_id, v.occurred_on, v.bad_credit_list)
    ):
        if listed:
            continue  # 不良信用名单: the ban follows that regime, not this policy (SPEC v2 §8)
        occurred = as_date(occurred)
        years = book.for_month(month_start(occurred)).renewal.ban_violation_years
        until = ban_until(occurred, years)
        if until is not None:
            bans[pid].append((occurred, until, f"重大违规{vid}"))
    out = []
    c = contracts.c
    for pid, cid, start in conn.execute(
        sa.select(c.partner_id, c.contract_id, c.start_date).order_by(c.partner_id, c.start_date, c.contract_id)
    ):
        start = as_date(start)
        hits = [(until, source) for set_on, until, source in bans.get(pid, ()) if set_on < start <= until]
        if hits:
            until, source = max(hits)
            out.append(BanBreach(pid, cid, start, until, source))
    return out
