"""bench/generate.py gives follow-up contracts only where the policy allows one (SPEC §8, 第十七、十九、二十条).

The generator draws the contracts after the tickets: whether a partner may fall under 第二十条 is read from a lower
bound of its credit (the exact health of each month, no importance points). These tests recompute that bound with
the project's rules from the tickets the generator yielded, and check each follow-up against the bans.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the bench package lives beside migu_assets

from bench.generate import Generator  # noqa: E402
from migu_assets.rules.complaints import notifications_for  # noqa: E402
from migu_assets.rules.credit import monthly_score, weighted_credit  # noqa: E402
from migu_assets.rules.health import health_score, timely_rate  # noqa: E402
from migu_assets.rules.renewal import ban_until  # noqa: E402

PARTNERS, MONTHS, TICKETS = 120, 12, 30_000


def _generate() -> tuple[Generator, dict, list[dict]]:
    """Draw every table in the order ``bench.generate.load`` does; keep the tickets."""
    g = Generator(PARTNERS, MONTHS, TICKETS, 20240101, dt.date(2024, 1, 1))
    g.partner_chunk()
    g.declaration_chunk()
    g.hold_chunk()
    g.violation_chunk()
    tickets = []
    for i in range(MONTHS):
        tickets += list(g.ticket_chunks(i))
        g.event_chunk(i)
        g.business_chunk(i)
        g.settlement_chunk(i)
    return g, g.contract_chunk(), tickets


@pytest.fixture(scope="module")
def generated():
    return _generate()


def _d(value) -> dt.date:
    return np.datetime64(value, "D").astype(object)


def test_generate_is_deterministic(generated):
    _, contracts, _ = generated
    _, again, _ = _generate()
    for column, values in contracts.items():
        assert np.array_equal(np.asarray(values).astype(str), np.asarray(again[column]).astype(str)), column


def test_generate_credit_risk_is_a_lower_bound_computed_with_the_rules(generated):
    """The notifications and timely rates the generator accumulated are those of its tickets, and its 第二十条 risk
    flags every partner whose credit without importance stays below the threshold for the policy's months."""
    g, _, tickets = generated
    policy = g.policy
    daily: Counter = Counter()
    due: Counter = Counter()
    on_time: Counter = Counter()
    for chunk in tickets:
        for pid, cat, created, due_at, handled in zip(
            chunk["partner_id"].tolist(), chunk["category"].tolist(), chunk["created_at"].tolist(),
            chunk["due_at"].tolist(), chunk["handled_at"].tolist(), strict=True,
        ):
            if cat == "uninformed_subscription":
                daily[(pid, created.date())] += 1
            key = (pid, due_at.date().replace(day=1))
            due[key] += 1
            on_time[key] += handled is not None and handled <= due_at
    notes: Counter = Counter()
    for (pid, day), n in daily.items():
        notes[(pid, day.replace(day=1))] += notifications_for(n, policy.complaints)
    months = [_d(m) for m in g.month_starts[:MONTHS]]
    risk = g.credit_risk()
    for k, pid in enumerate(g.p.ids.tolist()):
        scores: list[Decimal | None] = []
        run = longest = 0
        for i, month in enumerate(months):
            assert g.notifications[k, i] == notes[(pid, month)]
            if not g.active(i)[k]:
                scores.insert(0, None)
                run = 0
                continue
            rate = timely_rate(on_time[(pid, month)], due[(pid, month)])
            health = health_score(notes[(pid, month)], rate, policy.health).health
            scores.insert(0, monthly_score(health, 0, policy.credit))
            credit = weighted_credit(scores, policy.credit).credit_score
            run = run + 1 if credit < policy.renewal.low_score_threshold else 0
            longest = max(longest, run)
        at_risk = longest >= policy.renewal.low_score_months or g.p.volume_class[k] > 0
        assert bool(risk[k]) == at_risk, pid
    assert 0 < risk.sum() < PARTNERS


def test_generate_follow_ups_start_after_every_ban_and_only_where_renewal_is_possible(generated):
    g, c, _ = generated
    renewal = g.policy.renewal
    risk = g.credit_risk()
    violations = g.violation_chunk()
    violated = dict(zip(violations["partner_id"].tolist(), violations["occurred_on"].tolist(), strict=True))
    pids = np.asarray(c["partner_id"]).tolist()
    first = {pid: k for k, pid in enumerate(pids[:PARTNERS])}
    follow_ups = list(range(PARTNERS, len(pids)))
    assert len(set(pids[PARTNERS:])) == len(follow_ups)  # at most one follow-up per partner
    after_a_ban = 0
    for f in follow_ups:
        pid = pids[f]
        k = first[pid]
        end, start = _d(c["end_date"][k]), _d(c["start_date"][f])
        assert end < _d(g.month_starts[-1])
        refused = (
            (not c["product_launched"][k] and c["launch_blocked_by_partner"][k])
            or not c["qualification_ok"][k]
            or not np.isnat(c["exit_requested_on"][k])
            or (not np.isnat(c["decision_on"][k]) and np.isnat(c["signed_on"][k]))
        )
        assert not refused, pid  # 第十八、二十一、二十二、二十五条: no follow-up
        bans = []
        if not c["rights_delivered"][k]:
            bans.append(ban_until(end, renewal.ban_rights_years))  # 第十七条
        if risk[g.p.ids.tolist().index(pid)]:
            bans.append(ban_until(end, renewal.ban_low_score_years))  # 第二十条
        if pid in violated and violated[pid] <= end:
            bans.append(ban_until(violated[pid], renewal.ban_violation_years))  # 第十九条
        if bans:
            after_a_ban += 1
            assert start > max(bans), pid
        else:
            assert start == end + dt.timedelta(days=1), pid
    assert after_a_ban > 0 and len(follow_ups) - after_a_ban > 0
