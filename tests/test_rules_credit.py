"""附件5 importance (SPEC §4.2), 第十一条 monthly/weighted credit (§4.3, §5), 第十条 grades, 第十四条 due dates."""

import datetime as dt
from decimal import Decimal

import pytest

from migu_assets.policy import CalendarRules, ExtraYear
from migu_assets.rules.credit import (
    default_issue_date,
    due_date,
    grade_for,
    monthly_score,
    supersedes,
    weighted_credit,
)
from migu_assets.rules.importance import Declaration, importance_for
from migu_assets.rules.workdays import UnknownCalendarYear, WorkdayCalendar
from migu_assets.vocabulary import measure_names

D = dt.date
DEC = Decimal
CAL = WorkdayCalendar()


# ------------------------------------------------------------------ 附件5 / 第十一条: monthly score
@pytest.mark.parametrize(
    ("health", "importance", "score", "grade"),
    [
        (100, 0, "800.00", "A"),
        (75, 0, "625.00", "B"),
        (50, 0, "450.00", "C"),
        (25, 0, "275.00", "E"),
        (0, 0, "100.00", "F"),
        (100, 100, "1000.00", "A"),
        (80, 50, "760.00", "B"),
    ],
)
def test_第十一条_monthly_score_and_spec_grade_claims(policy, health, importance, score, grade):
    """SPEC §4.3: one notification gives B, two C, three E, four or more F."""
    s = monthly_score(health, importance, policy.credit)
    assert s == DEC(score)
    assert grade_for(s, policy.credit).grade == grade


# ------------------------------------------------------------------ 第十一条: weighted credit, renormalised
def test_第十一条_first_month_credit_is_its_monthly_score(policy):
    wc = weighted_credit([DEC("625.00"), None, None], policy.credit)
    assert (wc.credit_score, wc.months_used) == (DEC("625.00"), 1)


def test_第十一条_second_month_renormalises_over_two_months(policy):
    # (0.5 × 800 + 0.3 × 1000) / 0.8 = 875.00
    wc = weighted_credit([DEC(800), DEC(1000), None], policy.credit)
    assert (wc.credit_score, wc.months_used) == (DEC("875.00"), 2)
    # (0.5 × 450 + 0.3 × 625) / 0.8 = 515.625 → 515.63 (half-up)
    assert weighted_credit([DEC(450), DEC(625), None], policy.credit).credit_score == DEC("515.63")


def test_第十一条_full_window_uses_050_030_020(policy):
    # 0.5 × 600 + 0.3 × 800 + 0.2 × 1000 = 740
    assert weighted_credit([DEC(600), DEC(800), DEC(1000)], policy.credit).credit_score == DEC("740.00")


# ------------------------------------------------------------------ 第十条: grade boundaries
@pytest.mark.parametrize(
    ("score", "grade"),
    [
        ("1000", "A"),
        ("800", "A"),
        ("799.99", "B"),
        ("600", "B"),
        ("599.99", "C"),
        ("450", "C"),
        ("449.99", "D"),
        ("300", "D"),
        ("299.99", "E"),
        ("150", "E"),
        ("149.99", "F"),
        ("0.01", "F"),
        ("0", "TERMINATED"),
        ("0.004", "TERMINATED"),
        ("799.995", "A"),
    ],
)
def test_第十条_grade_boundaries(policy, score, grade):
    """The grade is read from the rounded score (799.995 → 800.00 → A; 0.004 → 0.00 → TERMINATED)."""
    assert grade_for(DEC(score), policy.credit).grade == grade


def test_第十条_measures_are_cumulative(policy):
    c = measure_names(grade_for(DEC(500), policy.credit).measures)  # codes in the policy, names in vocabulary
    d = measure_names(grade_for(DEC(400), policy.credit).measures)
    e = measure_names(grade_for(DEC(200), policy.credit).measures)
    f = measure_names(grade_for(DEC(100), policy.credit).measures)
    assert c == ["停止投放新业务代码、新产品或开展新类型合作"]
    assert d[: len(c)] == c and "暂停话费计费能力或暂停客户端推广" in d
    assert e[: len(d)] == d and "暂停合作伙伴费用结算" in e
    assert f[: len(e)] == e and "全面暂停业务销售合作" in f
    assert grade_for(DEC(850), policy.credit).measures == []
    assert measure_names(grade_for(DEC(0), policy.credit).measures) == ["终止合作"]


# ------------------------------------------------------------------ 第十四条: issue and due dates
def test_第十四条_spring_festival_2024_with_adjusted_working_sundays(policy):
    # Feb 2024: 1 Thu, 2 Fri, 4 Sun (调休 working), 5 Mon, 6 Tue → 5th working day = Feb 6.
    issued = default_issue_date(D(2024, 1, 1), policy.credit, CAL)
    assert issued == D(2024, 2, 6)
    # After Feb 6: 7, 8, 9, then 10–17 holiday, 18 Sun (调休 working), 19 → due Feb 19.
    assert due_date(issued, policy.credit, CAL) == D(2024, 2, 19)


def test_第十四条_national_day_2024(policy):
    # Oct 2024: 1–7 holiday; 8, 9, 10, 11, 12 (Sat, 调休 working) → issued Oct 12; due 14, 15, 16, 17, 18.
    issued = default_issue_date(D(2024, 9, 1), policy.credit, CAL)
    assert issued == D(2024, 10, 12)
    assert due_date(issued, policy.credit, CAL) == D(2024, 10, 18)
    # Issued Fri Sep 27: Sun 29 (调休 working), Mon 30, holiday 1–7, 8, 9, 10 → Oct 10.
    assert due_date(D(2024, 9, 27), policy.credit, CAL) == D(2024, 10, 10)


def test_第十四条_ordinary_week(policy):
    # Thu 2024-03-07 → Fri 8, Mon 11, Tue 12, Wed 13, Thu 14.
    assert default_issue_date(D(2024, 2, 1), policy.credit, CAL) == D(2024, 3, 7)
    assert due_date(D(2024, 3, 7), policy.credit, CAL) == D(2024, 3, 14)


def test_unknown_calendar_year_is_an_error_not_a_guess(policy):
    with pytest.raises(UnknownCalendarYear, match="2031"):
        due_date(D(2031, 1, 6), policy.credit, CAL)


def test_policy_file_can_add_a_years_official_notice(policy):
    cal = WorkdayCalendar(
        CalendarRules(extra_years={2031: ExtraYear(holidays=[D(2031, 1, 1)], workdays=[D(2031, 1, 4)])})
    )
    # 2031-01-01 Wed holiday; Thu 2, Fri 3, Sat 4 (adjusted working day), Mon 6, Tue 7.
    assert cal.nth_workday_after(D(2030, 12, 31), 5) == D(2031, 1, 7)


# ------------------------------------------------------------------ 第十四条: supersession
def test_第十四条_supersedes_when_previous_not_yet_due():
    assert supersedes("C", D(2024, 2, 19), "D", D(2024, 2, 19))  # prev.due_on ≥ issued_on
    assert not supersedes("C", D(2024, 2, 19), "D", D(2024, 2, 20))
    assert not supersedes("B", D(2024, 2, 19), "D", D(2024, 2, 1))  # B carries no measures
    assert not supersedes("C", D(2024, 2, 19), "A", D(2024, 2, 1))  # only C–F/TERMINATED rows supersede
    assert supersedes("F", D(2024, 2, 19), "TERMINATED", D(2024, 2, 1))


# ------------------------------------------------------------------ 附件5 第2项: importance
def _decl(did, item, reviewed, parent=None, pid="P1"):
    return Declaration(did, pid, item, parent, reviewed)


def test_附件5_importance_counts_from_review_month_never_earlier(policy):
    decl = [_decl("D1", "cmcc_strategic_agreement", D(2024, 3, 20))]
    feb = importance_for(D(2024, 2, 1), None, decl, set(), None, policy.importance)
    mar = importance_for(D(2024, 3, 1), None, decl, set(), None, policy.importance)
    assert (feb.company, feb.importance) == (0, 0)
    assert "不追溯" in feb.reason
    assert (mar.company, mar.importance) == (100, 100)


def test_附件5_operational_thresholds_and_cap(policy):
    def op(**amounts):
        business = {"info_fee_revenue": DEC(0), "migu_purchases": DEC(0), "migu_ad_spend": DEC(0), **amounts}
        return importance_for(D(2024, 1, 1), None, [], set(), business, policy.importance).operational

    assert op(info_fee_revenue=DEC("49999.99")) == 0
    assert op(info_fee_revenue=DEC("50000.00")) == 50
    assert op(migu_purchases=DEC("50000")) == 50
    assert op(migu_ad_spend=DEC("499999.99")) == 0
    assert op(migu_ad_spend=DEC("500000")) == 50
    both = importance_for(
        D(2024, 1, 1),
        None,
        [_decl("D1", "listed_company_or_soe", D(2023, 5, 1))],
        set(),
        {"info_fee_revenue": DEC(60000)},
        policy.importance,
    )
    assert (both.company, both.operational, both.importance) == (100, 50, 100)


def test_附件5_parent_authorisation_must_be_exclusive(policy):
    decl = [_decl("D9", "national_media_portal", D(2024, 1, 5), parent="G1")]
    ok = importance_for(D(2024, 1, 1), "G1", decl, set(), None, policy.importance)
    contested = importance_for(D(2024, 1, 1), "G1", decl, {"G1"}, None, policy.importance)
    wrong_parent = importance_for(D(2024, 1, 1), "G2", decl, set(), None, policy.importance)
    assert ok.company == 100
    assert contested.company == 0 and "独家授权" in contested.reason
    assert wrong_parent.company == 0
