"""附件5 importance (SPEC §4.2), 第十一条 monthly/weighted credit (§4.3, §5), 第十条 grades, 第十四条 due dates."""

import datetime as dt
from decimal import Decimal

import pytest

from migu_assets.policy import CalendarRules, ExtraYear
from migu_assets.rules.credit import (
    MonthResult,
    default_issue_date,
    due_date,
    grade_for,
    grade_in_force,
    monthly_score,
    scoring_start,
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


# ------------------------------------------------------------------ 第十四条: supersession (SPEC v2 §5)
def test_第十四条_supersedes_when_issued_within_previous_due_date(policy):
    assert supersedes("C", D(2024, 2, 19), D(2024, 2, 19), policy.credit)  # issued_on(m) ≤ due_on(m−1): the due day counts
    assert not supersedes("C", D(2024, 2, 19), D(2024, 2, 20), policy.credit)  # one day later: the C stands
    assert not supersedes("B", D(2024, 2, 19), D(2024, 2, 1), policy.credit)  # B carries no measures to supersede
    assert supersedes("F", D(2024, 2, 19), D(2024, 2, 1), policy.credit)
    assert not supersedes("TERMINATED", D(2024, 2, 19), D(2024, 2, 1), policy.credit)  # never superseded
    assert not supersedes(None, None, D(2024, 2, 1), policy.credit)


def test_第十四条_v2_A_and_B_results_supersede_too(policy):
    """SPEC v2 §5 (changed from v1): any later result received in time governs, A and B included."""
    # January E issued 2024-03-01, due 03-08; February B issued 03-04 → February supersedes January.
    assert supersedes("E", D(2024, 3, 8), D(2024, 3, 4), policy.credit)
    assert supersedes("C", D(2024, 3, 8), D(2024, 3, 8), policy.credit)
    assert not supersedes("C", D(2024, 3, 8), D(2024, 3, 11), policy.credit)


def _r(month, grade, issued, due, sup=None):
    return MonthResult(month, grade, issued, due, sup)


def test_第十四条_grade_in_force_follows_a_three_month_chain():
    """Jan E superseded by Feb D superseded by Mar B → the grade in force for Jan and Feb is Mar's B."""
    jan = _r(D(2024, 1, 1), "E", D(2024, 3, 1), D(2024, 3, 8))
    feb = _r(D(2024, 2, 1), "D", D(2024, 3, 4), D(2024, 3, 11), D(2024, 1, 1))
    mar = _r(D(2024, 3, 1), "B", D(2024, 3, 11), D(2024, 3, 18), D(2024, 2, 1))
    results = {r.month: r for r in (jan, feb, mar)}
    assert grade_in_force(D(2024, 1, 1), results).grade == "B"
    assert grade_in_force(D(2024, 2, 1), results).month == D(2024, 3, 1)
    assert grade_in_force(D(2024, 3, 1), results) == mar
    # as of a day: only results received by then count
    assert grade_in_force(D(2024, 1, 1), results, as_of=D(2024, 3, 3)) == jan
    assert grade_in_force(D(2024, 1, 1), results, as_of=D(2024, 3, 4)) == feb
    assert grade_in_force(D(2024, 1, 1), results, as_of=D(2024, 3, 10)).grade == "D"
    assert grade_in_force(D(2024, 1, 1), results, as_of=D(2024, 3, 11)).grade == "B"
    assert grade_in_force(D(2024, 4, 1), results) is None


# ------------------------------------------------------------------ §4.3: who is scored, re-entry after a ban
def test_第十二条_scored_until_the_violation_month_then_not():
    coop = D(2023, 1, 1)
    assert scoring_start(D(2024, 3, 1), coop, [D(2024, 3, 10)], []) == D(2023, 1, 1)  # violation month: scored
    assert scoring_start(D(2024, 4, 1), coop, [D(2024, 3, 10)], []) is None
    assert scoring_start(D(2022, 12, 1), coop, [], []) is None  # before cooperation_start


def test_第二十条_reentry_scored_again_from_the_new_contracts_start_month_with_a_fresh_history():
    coop, v = D(2023, 1, 1), [D(2024, 3, 10)]
    new = [D(2023, 1, 1), D(2026, 3, 11)]  # the old contract, and one after a 2-year ban ending 2026-03-10
    assert scoring_start(D(2026, 2, 1), coop, v, new) is None
    assert scoring_start(D(2026, 3, 1), coop, v, new) == D(2026, 3, 1)
    assert scoring_start(D(2026, 9, 1), coop, v, new) == D(2026, 3, 1)
    # a contract starting on the violation day is not after the termination
    assert scoring_start(D(2024, 4, 1), coop, v, [D(2024, 3, 10)]) is None
    # starting later in the violation's own month: the fresh history starts the month after
    assert scoring_start(D(2024, 4, 1), coop, v, [D(2024, 3, 11)]) == D(2024, 4, 1)
    # terminated again after re-entry
    v2 = [D(2024, 3, 10), D(2026, 5, 2)]
    assert scoring_start(D(2026, 5, 1), coop, v2, new) == D(2026, 3, 1)
    assert scoring_start(D(2026, 6, 1), coop, v2, new) is None


# ------------------------------------------------------------------ 附件5 第2项: importance
def _decl(did, item, reviewed, parent=None, pid="P1"):
    return Declaration(did, pid, item, parent, reviewed)


def test_附件5_v2_importance_counts_from_the_first_month_not_yet_issued(policy):
    """SPEC v2 §4.2: approved 2024-03-04, February issued 2024-03-07 → counts for February; approved 03-08 → March."""
    early = [_decl("D1", "cmcc_strategic_agreement", D(2024, 3, 4))]
    late = [_decl("D2", "cmcc_strategic_agreement", D(2024, 3, 8))]
    on_the_day = [_decl("D3", "cmcc_strategic_agreement", D(2024, 3, 7))]
    feb, mar = (D(2024, 2, 1), D(2024, 3, 7)), (D(2024, 3, 1), D(2024, 4, 8))
    jan = (D(2024, 1, 1), D(2024, 2, 6))

    def company(decl, month_issue):
        month, issued = month_issue
        return importance_for(month, None, decl, set(), None, policy.importance, issued_on=issued)

    assert company(early, feb).company == 100
    assert company(early, jan).company == 0  # January was issued 02-06: never retroactive
    assert company(late, feb).company == 0
    assert "不追溯" in company(late, feb).reason and "2024-03-07" in company(late, feb).reason
    assert company(late, mar).company == 100
    assert company(on_the_day, feb).company == 0  # approved on the issue day itself: not before it


def test_附件5_operational_thresholds_and_cap(policy):
    def op(**amounts):
        business = {"info_fee_revenue": DEC(0), "migu_purchases": DEC(0), "migu_ad_spend": DEC(0), **amounts}
        return importance_for(
            D(2024, 1, 1), None, [], set(), business, policy.importance, issued_on=D(2024, 2, 6)
        ).operational

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
        issued_on=D(2024, 2, 6),
    )
    assert (both.company, both.operational, both.importance) == (100, 50, 100)


def test_附件5_parent_authorisation_must_be_exclusive(policy):
    decl = [_decl("D9", "national_media_portal", D(2024, 1, 5), parent="G1")]
    ok = importance_for(D(2024, 1, 1), "G1", decl, set(), None, policy.importance, issued_on=D(2024, 2, 6))
    contested = importance_for(D(2024, 1, 1), "G1", decl, {"G1"}, None, policy.importance, issued_on=D(2024, 2, 6))
    wrong_parent = importance_for(D(2024, 1, 1), "G2", decl, set(), None, policy.importance, issued_on=D(2024, 2, 6))
    assert ok.company == 100
    assert contested.company == 0 and "独家授权" in contested.reason
    assert wrong_parent.company == 0
