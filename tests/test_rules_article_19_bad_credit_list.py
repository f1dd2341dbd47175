"""第十九条's two branches (SPEC v2 §7, §8) in the renewal review: a major violation with ``bad_credit_list = true``
is handled under 《合作伙伴不良信用名单管理办法》 — terminated, no re-entry ban from this policy; ``false`` →
terminated with the 2-year ban, as before. (The settlement side is in test_rules_settlement.py.)"""

import datetime as dt

import pytest

from migu_assets.rules import renewal as r

D = dt.date
MAY = D(2024, 5, 1)


@pytest.fixture
def rules(policy):
    return policy.renewal


def decide(*violations: r.Violation, rules) -> r.RenewalDecision:
    contract = r.Contract(contract_id="C1", partner_id="P1", end_date=D(2024, 6, 30), rights_delivered=False)
    return r.decide(contract, r.PartnerRecord(partner_id="P1", violations=violations), MAY, rules)


def test_第十九条_bad_credit_list_true_terminated_without_a_ban_naming_the_regulation(rules):
    d = decide(r.Violation("V1", D(2024, 3, 10), 5, bad_credit_list=True), rules=rules)
    assert (d.decision, d.clause) == ("terminated", "第十九条/不良信用名单")
    # 第十七条 also matches (rights not delivered) and bans 1 year from end_date; 第十九条 itself adds no ban
    assert d.reentry_banned_until == D(2025, 6, 30)
    first = d.reasons.split("\n")[0]
    assert first == (
        "第十九条（不良信用名单）：合作方于2024-03-10发生重大违规V1（附件8第5项），"
        "符合《咪咕文化科技有限公司合作伙伴不良信用名单管理办法》规定，按该办法认定并处罚，终止合作；"
        "禁入期限及处罚按该办法执行，本办法不另设禁入期。"
    )


def test_第十九条_bad_credit_list_true_alone_has_no_ban(rules):
    contract = r.Contract(contract_id="C1", partner_id="P1", end_date=D(2024, 6, 30))
    partner = r.PartnerRecord(partner_id="P1", violations=(r.Violation("V1", D(2024, 3, 10), 5, True),))
    d = r.decide(contract, partner, MAY, rules)
    assert (d.decision, d.reentry_banned_until) == ("terminated", None)


def test_第十九条_bad_credit_list_false_terminated_banned_two_years(rules):
    contract = r.Contract(contract_id="C1", partner_id="P1", end_date=D(2024, 6, 30))
    partner = r.PartnerRecord(partner_id="P1", violations=(r.Violation("V1", D(2024, 3, 10), 5, False),))
    d = r.decide(contract, partner, MAY, rules)
    assert (d.decision, d.clause, d.reentry_banned_until) == ("terminated", "第十九条", D(2026, 3, 10))
    assert "直接终止合作，2024-03-10起2年内（至2026-03-10）不得重新开展本类型合作" in d.reasons
    assert "不良信用名单" not in d.reasons


def test_第十九条_a_violation_before_the_contracts_start_belongs_to_an_earlier_cooperation(rules):
    """SPEC v2 §4.3 re-entry: C2 signed after the ban of a 2024 violation is reviewed on its own record — renewed —
    while a violation during C2 terminates it."""
    c2 = r.Contract(contract_id="C2", partner_id="P1", start_date=D(2026, 4, 1), end_date=D(2027, 3, 31))
    old = r.Violation("V1", D(2024, 3, 10), 2, False)
    again = r.Violation("V2", D(2026, 6, 3), 2, False)
    feb = D(2027, 2, 1)
    assert r.decide(c2, r.PartnerRecord(partner_id="P1", violations=(old,)), feb, rules).decision == "renew"
    d = r.decide(c2, r.PartnerRecord(partner_id="P1", violations=(old, again)), feb, rules)
    assert (d.decision, d.reentry_banned_until) == ("terminated", D(2028, 6, 3))
