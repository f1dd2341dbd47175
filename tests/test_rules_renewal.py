"""Renewal rules (第十六至二十五条, SPEC §8), hand-computed, one scenario per rule plus precedence and boundaries.

The reviewed month is May 2024 and the contract ends in June 2024 (lead 1 month) unless a test says otherwise.
"""

import datetime as dt
from decimal import Decimal

import pytest

from migu_assets.rules import renewal as r

D = dt.date
MAY = D(2024, 5, 1)
END = D(2024, 6, 30)


@pytest.fixture
def rules(policy):
    return policy.renewal


def contract(**kw) -> r.Contract:
    return r.Contract(contract_id=kw.pop("contract_id", "C1"), partner_id="P1", end_date=kw.pop("end_date", END), **kw)


def partner(**kw) -> r.PartnerRecord:
    return r.PartnerRecord(partner_id="P1", **kw)


def six_scores(*values: str, last: dt.date = MAY) -> dict[dt.date, Decimal]:
    """Scores for the months ending with ``last``, oldest first."""
    months = [r.add_months(last, -k) for k in range(len(values) - 1, -1, -1)]
    return {m: Decimal(v) for m, v in zip(months, values, strict=True)}


def lines(decision: r.RenewalDecision) -> list[str]:
    return decision.reasons.split("\n")


def test_policy_numbers_used(rules):
    assert (rules.lead_months, rules.low_score_threshold, rules.low_score_months) == (1, Decimal(450), 6)
    assert (rules.ban_rights_years, rules.ban_low_score_years, rules.ban_violation_years) == (1, 1, 2)
    assert (rules.exit_notice_months, rules.exit_notice_months_platform, rules.abandon_after_months) == (1, 2, 6)


# ---------------------------------------------------------------- one scenario per rule


def test_article_23_renew_when_nothing_matches(rules):
    d = r.decide(contract(), partner(credit_scores=six_scores(*["449.99"] * 5, "450.00")), MAY, rules)
    assert (d.decision, d.clause, d.reentry_banned_until, d.late_notice) == ("renew", "第二十三条", None, False)
    assert lines(d) == ["第二十三条：合作方未出现第十七至二十二条所列情况，可进行续约。"]
    assert (d.contract_id, d.partner_id, d.month, d.end_date) == ("C1", "P1", MAY, END)


def test_article_19_terminated_by_violation_banned_two_years_from_occurrence(rules):
    v = r.Violation("V1", D(2024, 2, 29), violation_type=3)
    d = r.decide(contract(), partner(violations=[v], first_zero_credit_month=D(2024, 2, 1)), MAY, rules)
    assert (d.decision, d.clause) == ("terminated", "第十九条")
    # 2024-02-29 + 2 years, calendar months clamped to month end: the last banned day is 2026-02-28.
    assert d.reentry_banned_until == D(2026, 2, 28)
    assert lines(d) == [
        "第十九条：合作方于2024-02-29发生重大违规V1（附件8第3项），直接终止合作，"
        "2024-02-29起2年内（至2026-02-28）不得重新开展本类型合作。"
    ]


def test_article_19_several_violations_first_terminates_latest_bans_longest(rules):
    vs = [r.Violation("V2", D(2024, 4, 2)), r.Violation("V1", D(2024, 1, 15), bad_credit_list=True)]
    d = r.decide(contract(), partner(violations=vs), MAY, rules)
    assert d.reentry_banned_until == D(2026, 4, 2)
    assert "2024-01-15发生重大违规V1" in d.reasons and "另有1起" in d.reasons and "不良信用名单" in d.reasons


def test_article_20_terminated_by_credit_zero_without_violation_no_ban(rules):
    d = r.decide(contract(), partner(first_zero_credit_month=D(2024, 3, 1)), MAY, rules)
    assert (d.decision, d.clause, d.reentry_banned_until) == ("terminated", "第二十条", None)
    assert lines(d) == ["第二十条：合作方信用积分于2024年03月扣减至0，在相应业务线执行违规退出，终止合作。"]


def test_article_17_rights_not_delivered_banned_one_year_from_end_date(rules):
    # Reviewed in January 2024 for a contract ending 2024-02-29: the last banned day is 2025-02-28.
    d = r.decide(contract(end_date=D(2024, 2, 29), rights_delivered=False), partner(), D(2024, 1, 1), rules)
    assert (d.decision, d.clause, d.reentry_banned_until) == ("not_renewed", "第十七条", D(2025, 2, 28))
    assert lines(d) == [
        "第十七条：合作方未能向用户提供合作方案约定的权益，不予续约，2024-02-29起1年内（至2025-02-28）不得重新开展本类型合作。"
    ]


def test_article_18_not_launched_through_partner_no_ban(rules):
    d = r.decide(contract(product_launched=False, launch_blocked_by_partner=True), partner(), MAY, rules)
    assert (d.decision, d.clause, d.reentry_banned_until) == ("not_renewed", "第十八条", None)
    # Not launched for a reason other than the partner: 第十八条 does not apply.
    d = r.decide(contract(product_launched=False, launch_blocked_by_partner=False), partner(), MAY, rules)
    assert (d.decision, d.clause) == ("renew", "第二十三条")


def test_article_20_six_scores_below_450_not_renewed_banned_one_year(rules):
    scores = six_scores(*["449.99"] * 6)  # December 2023 .. May 2024
    d = r.decide(contract(), partner(credit_scores=scores), MAY, rules)
    assert (d.decision, d.clause, d.reentry_banned_until) == ("not_renewed", "第二十条", D(2025, 6, 30))
    assert "2023-12 449.99、2024-01 449.99" in d.reasons and "近6次信用积分均低于450分" in d.reasons


@pytest.mark.parametrize("position", range(6))
def test_article_20_one_score_of_exactly_450_renews(rules, position):
    values = ["449.99"] * 6
    values[position] = "450.00"
    d = r.decide(contract(), partner(credit_scores=six_scores(*values)), MAY, rules)
    assert (d.decision, d.clause) == ("renew", "第二十三条")


def test_article_20_fewer_than_six_scored_months_never_refused(rules):
    five = six_scores(*["100.00"] * 5)  # January .. May 2024: no December score
    d = r.decide(contract(), partner(credit_scores=five), MAY, rules)
    assert d.decision == "renew"
    # Six low scores ending in April (not the reviewed months m−5..m) do not count either.
    old = six_scores(*["100.00"] * 6, last=D(2024, 4, 1))
    assert r.decide(contract(), partner(credit_scores=old), MAY, rules).decision == "renew"


def test_article_22_qualification_lost(rules):
    d = r.decide(contract(qualification_ok=False), partner(), MAY, rules)
    assert (d.decision, d.clause, d.reentry_banned_until) == ("not_renewed", "第二十二条", None)


# ---------------------------------------------------------------- 第二十一条 notice


@pytest.mark.parametrize(
    ("requested", "on_platform", "late"),
    [
        (D(2024, 5, 30), False, False),  # exactly end_date − 1 month (06-30 − 1 month = 05-30): on time
        (D(2024, 5, 31), False, True),  # one day after
        (D(2024, 4, 30), True, False),  # network-wide rights platform: end_date − 2 months
        (D(2024, 5, 1), True, True),
        (D(2024, 5, 30), True, True),  # on time for an ordinary partner, late on the platform
    ],
)
def test_article_21_partner_exit_and_late_notice(rules, requested, on_platform, late):
    d = r.decide(contract(exit_requested_on=requested), partner(on_network_rights_platform=on_platform), MAY, rules)
    assert (d.decision, d.clause, d.late_notice, d.reentry_banned_until) == ("partner_exit", "第二十一条", late, None)
    assert ("逾期申请" in d.reasons) is late


# ---------------------------------------------------------------- precedence


def test_precedence_terminated_over_rights_both_listed_with_articles(rules):
    v = r.Violation("V9", D(2024, 3, 10))
    d = r.decide(contract(rights_delivered=False), partner(violations=[v]), MAY, rules)
    assert (d.decision, d.clause) == ("terminated", "第十九条")
    assert [line[:4] for line in lines(d)] == ["第十九条", "第十七条"]
    # Both rules ban: the later last day stays (violation 2026-03-10 beats rights 2025-06-30).
    assert d.reentry_banned_until == D(2026, 3, 10)


def test_precedence_every_matching_rule_listed_in_order(rules):
    c = contract(
        rights_delivered=False,
        product_launched=False,
        launch_blocked_by_partner=True,
        qualification_ok=False,
        exit_requested_on=D(2024, 6, 1),
    )
    d = r.decide(c, partner(credit_scores=six_scores(*["300"] * 6)), MAY, rules)
    assert (d.decision, d.clause, d.late_notice) == ("not_renewed", "第十七条", True)
    assert [line.split("：")[0] for line in lines(d)] == [
        "第十七条",
        "第十八条",
        "第二十条",
        "第二十二条",
        "第二十一条",
    ]
    assert d.reentry_banned_until == D(2025, 6, 30)


def test_precedence_low_score_over_exit(rules):
    d = r.decide(contract(exit_requested_on=D(2024, 1, 2)), partner(credit_scores=six_scores(*["10"] * 6)), MAY, rules)
    assert (d.decision, d.clause, d.late_notice) == ("not_renewed", "第二十条", False)


# ---------------------------------------------------------------- 第二十五条


@pytest.mark.parametrize(
    ("signed_on", "month", "abandoned"),
    [
        (D(2024, 2, 27), D(2024, 2, 1), False),  # deadline 2023-08-31 + 6 months = 2024-02-29; signed a day before
        (D(2024, 2, 29), D(2024, 2, 1), False),  # signed on the last day: within 6 months
        (D(2024, 3, 1), D(2024, 2, 1), True),  # one day late → abandoned in February (the deadline's month)
        (None, D(2024, 2, 1), True),  # never signed
        (None, D(2024, 1, 1), False),  # not yet the deadline's month
        (None, D(2024, 3, 1), False),  # only the deadline's month carries the row
    ],
)
def test_article_25_abandoned_when_not_signed_within_six_months(rules, signed_on, month, abandoned):
    c = contract(decision_on=D(2023, 8, 31), signed_on=signed_on, end_date=D(2026, 8, 31))
    row = r.abandonment(c, month, rules)
    assert (row is not None) is abandoned
    if abandoned:
        assert (row.decision, row.clause, row.month, row.reentry_banned_until) == (
            "abandoned",
            "第二十五条",
            month,
            None,
        )
        assert row.reasons.startswith("第二十五条：") and "至2024-02-29" in row.reasons


def test_article_25_deadline_minus_one_day_signed_is_kept(rules):
    decided = D(2024, 1, 15)
    deadline = r.abandonment_deadline(decided, rules)
    assert deadline == D(2024, 7, 15)
    signed = contract(decision_on=decided, signed_on=deadline - dt.timedelta(days=1))
    assert r.abandonment(signed, D(2024, 7, 1), rules) is None
    late = contract(decision_on=decided, signed_on=deadline + dt.timedelta(days=1))
    assert r.abandonment(late, D(2024, 7, 1), rules).decision == "abandoned"
    assert r.abandonment(contract(), D(2024, 7, 1), rules) is None  # no decision_on → no 第二十五条 row
