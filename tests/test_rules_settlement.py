"""SPEC §7 settlement rules, pure (no database): 第四条 share rounding, 第十五条 负结算 carry and 联动止付,
第十条 E/F/TERMINATED hold, 第十九条 stop, 第二十四条 clearing period. Expectations are hand-computed Decimals."""

import datetime as dt
from decimal import Decimal

import pytest

from migu_assets.rules import settlement as r

D = dt.date
M = Decimal


def amounts(share: str, deductions: str = "0.00", gross: str | None = None, phone: bool = False) -> r.MonthAmounts:
    return r.MonthAmounts(M(gross or share), M(share), M(deductions), phone)


# ---------------------------------------------------------------- 第四条: per-item half-up share
@pytest.mark.parametrize(
    ("info_fee", "ratio", "share"),
    [
        ("0.01", "0.5", "0.01"),  # 0.005 → 0.01 (half-up; banker's would give 0.00)
        ("10.01", "0.7", "7.01"),  # 7.007 → 7.01
        ("5.35", "0.5", "2.68"),  # 2.675 → 2.68 (a float would give 2.67)
        ("0.05", "0.5", "0.03"),  # 0.025 → 0.03 (banker's: 0.02)
        ("0.01", "0.4", "0.00"),  # 0.004 → 0.00
        ("100.00", "0.7000", "70.00"),
        ("0.00", "0.7", "0.00"),
        ("33.33", "0.3333", "11.11"),  # 11.108889 → 11.11
    ],
)
def test_item_share_rounds_half_up_to_the_cent_article_4(info_fee, ratio, share):
    got = r.item_share(M(info_fee), M(ratio))
    assert got == M(share)
    assert got.as_tuple().exponent == -2


def test_share_is_rounded_per_item_not_on_the_sum_article_4():
    # two items of 0.01 × 0.5: per item 0.01 + 0.01 = 0.02; rounding the sum 0.010 would give 0.01
    assert r.item_share(M("0.01"), M("0.5")) + r.item_share(M("0.01"), M("0.5")) == M("0.02")


# ---------------------------------------------------------------- 第十五条: 负结算 carried to the next month
def test_positive_month_payable_article_4():
    b = r.balance(D(2024, 1, 1), amounts("50.00", "20.00"), r.ZERO)
    assert (b.net, b.payable, b.carried_out) == (M("30.00"), M("30.00"), M("0.00"))


def test_negative_month_carried_then_absorbed_article_15():
    rows = r.running_balances(
        {D(2024, 1, 1): amounts("10.00", "35.50"), D(2024, 2, 1): amounts("40.00", "4.00")}, D(2024, 3, 1)
    )
    assert [(b.month, b.carried_in, b.net, b.payable, b.carried_out) for b in rows] == [
        (D(2024, 1, 1), M("0.00"), M("-25.50"), M("0.00"), M("-25.50")),
        (D(2024, 2, 1), M("-25.50"), M("10.50"), M("10.50"), M("0.00")),
    ]  # March: no items, nothing carried → no row


def test_negative_month_not_absorbed_is_carried_again_also_through_empty_months_article_15():
    rows = r.running_balances(
        {D(2024, 1, 1): amounts("10.00", "50.00"), D(2024, 2, 1): amounts("15.00"), D(2024, 5, 1): amounts("30.00")},
        D(2024, 6, 1),
    )
    assert [(b.month, b.gross, b.carried_in, b.net, b.payable, b.carried_out) for b in rows] == [
        (D(2024, 1, 1), M("10.00"), M("0.00"), M("-40.00"), M("0.00"), M("-40.00")),
        (D(2024, 2, 1), M("15.00"), M("-40.00"), M("-25.00"), M("0.00"), M("-25.00")),
        # March and April have no items but a carry: they get rows and pass it on unchanged
        (D(2024, 3, 1), M("0.00"), M("-25.00"), M("-25.00"), M("0.00"), M("-25.00")),
        (D(2024, 4, 1), M("0.00"), M("-25.00"), M("-25.00"), M("0.00"), M("-25.00")),
        (D(2024, 5, 1), M("30.00"), M("-25.00"), M("5.00"), M("5.00"), M("0.00")),
    ]


def test_exactly_zero_net_is_payable_zero_and_not_carried_article_15():
    rows = r.running_balances({D(2024, 1, 1): amounts("10.00", "10.00")}, D(2024, 2, 1))
    assert [(b.net, b.payable, b.carried_out) for b in rows] == [(M("0.00"), M("0.00"), M("0.00"))]


def test_running_balances_stop_at_through():
    rows = r.running_balances({D(2024, 1, 1): amounts("1.00", "2.00")}, D(2024, 3, 1))
    assert [b.month for b in rows] == [D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)]
    assert r.running_balances({}, D(2024, 3, 1)) == []


# ---------------------------------------------------------------- status
def status(month, *, phone=False, violation=None, grade=None, holds=(), ended=None, policy):
    return r.settlement_status(
        month,
        phone_bill=phone,
        violation=violation,
        grade=grade,
        holds=holds,
        ended=ended,
        rules=policy.settlement,
    )


def test_plain_month_is_payable_article_4(policy):
    s = status(D(2024, 3, 1), grade="A", policy=policy)
    assert (s.status, s.clause, s.findings) == ("payable", "第四条", ())


def test_major_violation_stops_from_its_month_not_before_article_19(policy):
    v = r.Violation("V1", D(2024, 6, 20), 3)
    assert status(D(2024, 5, 1), violation=v, policy=policy).status == "payable"
    for month in (D(2024, 6, 1), D(2024, 7, 1), D(2025, 1, 1)):
        s = status(month, violation=v, policy=policy)
        assert (s.status, s.clause) == ("stopped", "第十九条")
    assert "2024-06-20" in s.findings[0] and "V1" in s.findings[0]


@pytest.mark.parametrize("grade", ["E", "F", "TERMINATED"])
def test_grades_e_f_terminated_hold_article_10(policy, grade):
    s = status(D(2024, 3, 1), grade=grade, policy=policy)
    assert (s.status, s.clause) == ("held", f"第十条/{grade}")


@pytest.mark.parametrize("grade", ["A", "B", "C", "D", None])
def test_grades_a_to_d_do_not_hold_article_10(policy, grade):
    assert status(D(2024, 3, 1), grade=grade, policy=policy).status == "payable"


def test_payment_hold_overlap_end_inclusive_and_open_article_15(policy):
    mid_open = r.Hold(D(2024, 3, 15), None, "负结算联动止付")
    assert status(D(2024, 2, 1), holds=[mid_open], policy=policy).status == "payable"
    for month in (D(2024, 3, 1), D(2024, 4, 1), D(2026, 1, 1)):
        s = status(month, holds=[mid_open], policy=policy)
        assert (s.status, s.clause) == ("held", "第十五条/联动止付")
    closed = r.Hold(D(2023, 12, 10), D(2024, 2, 1), "催缴")
    assert status(D(2024, 2, 1), holds=[closed], policy=policy).status == "held"  # its last day is Feb 1
    assert status(D(2024, 3, 1), holds=[closed], policy=policy).status == "payable"
    assert status(D(2023, 11, 1), holds=[closed], policy=policy).status == "payable"
    starts_last_day = r.Hold(D(2024, 4, 30), D(2024, 5, 2), "x")
    assert status(D(2024, 4, 1), holds=[starts_last_day], policy=policy).status == "held"


def test_clearing_period_only_with_phone_bill_and_only_inside_the_window_article_24(policy):
    ended = r.CooperationEnd("C1", D(2024, 2, 29), "not_renewed")  # window (2024-02-29, 2024-11-29]
    assert status(D(2024, 2, 1), phone=True, ended=ended, policy=policy).status == "payable"  # month of end_date
    s = status(D(2024, 3, 1), phone=True, ended=ended, policy=policy)
    assert (s.status, s.clause) == ("held", "第二十四条/清算期")
    assert "2024-03-01至2024-11-29" in s.findings[0] and "不予续约" in s.findings[0]
    assert status(D(2024, 11, 1), phone=True, ended=ended, policy=policy).status == "held"  # end + 9 months
    assert status(D(2024, 12, 1), phone=True, ended=ended, policy=policy).status == "payable"
    # v2: `phone` is whether the ended cooperation involved phone-bill payment; without it there is no clearing
    assert status(D(2024, 5, 1), phone=False, ended=ended, policy=policy).status == "payable"


def test_clearing_period_starting_mid_month_covers_the_end_month_article_24(policy):
    ended = r.CooperationEnd("C1", D(2024, 6, 15), "partner_exit")  # window (06-15, 2025-03-15]
    assert status(D(2024, 6, 1), phone=True, ended=ended, policy=policy).status == "held"
    assert status(D(2025, 3, 1), phone=True, ended=ended, policy=policy).status == "held"
    assert status(D(2025, 4, 1), phone=True, ended=ended, policy=policy).status == "payable"


def test_every_applicable_rule_is_listed_the_most_severe_decides(policy):
    s = status(
        D(2024, 4, 1),
        phone=True,
        violation=r.Violation("V9", D(2024, 4, 2), 1),
        grade="TERMINATED",
        holds=[r.Hold(D(2024, 1, 1), None, "联动止付")],
        ended=r.CooperationEnd("C1", D(2024, 3, 31), "terminated"),
        policy=policy,
    )
    assert (s.status, s.clause) == ("stopped", "第十九条")
    # SPEC v2: cooperation ended 03-31, so April's TERMINATED grade no longer holds (第十条注) — noted, not listed
    ends = ["（第十九条）", "（第十五条）", "（第二十四条）"]
    assert len(s.findings) == 3 and all(f.endswith(e) for f, e in zip(s.findings, ends, strict=True))
    assert s.notes == ("2024年04月评级TERMINATED，但合作已于2024-03-31结束，“暂停费用结算”措施相应结束（第十条注）",)
    held = status(D(2024, 4, 1), phone=True, grade="E", holds=[r.Hold(D(2024, 1, 1), None, "联动止付")], policy=policy)
    assert (held.status, held.clause, len(held.findings)) == ("held", "第十条/E", 2)
    b = r.balance(D(2024, 4, 1), amounts("10.00"), r.ZERO)
    text = r.reason(b, held)
    assert text.startswith("暂缓支付：2024年04月评级E，暂停结算") and "联动止付" in text and "应付10.00元" in text


def test_reason_explains_the_negative_balance_article_15():
    b = r.balance(D(2024, 2, 1), amounts("5.00", "1.00"), M("-10.00"))
    text = r.reason(b, r.Status("payable", "第四条", ()))
    assert "上月结转负结算-10.00元" in text and "负结算-6.00元结转下月" in text and "应付0元" in text


# ---------------------------------------------------------------- what "cooperation ended" means (第二十四条)
C1 = r.Contract("C1", D(2023, 1, 1), D(2024, 2, 29))
C2 = r.Contract("C2", D(2024, 3, 1), D(2025, 2, 28))


@pytest.mark.parametrize("decision", ["not_renewed", "terminated", "partner_exit"])
def test_ending_decisions_end_the_cooperation_on_end_date(decision):
    got = r.cooperation_end(D(2024, 4, 1), [C1], {"C1": [r.Decision(D(2024, 1, 1), decision)]})
    assert got == r.CooperationEnd("C1", D(2024, 2, 29), decision)


def test_renew_does_not_end_and_abandoned_is_ignored():
    assert r.cooperation_end(D(2024, 4, 1), [C1], {"C1": [r.Decision(D(2024, 1, 1), "renew")]}) is None
    both = [r.Decision(D(2024, 1, 1), "renew"), r.Decision(D(2024, 7, 1), "abandoned")]
    assert r.cooperation_end(D(2024, 4, 1), [C1], {"C1": both}) is None
    ended = [r.Decision(D(2024, 1, 1), "partner_exit"), r.Decision(D(2024, 7, 1), "abandoned")]
    assert r.cooperation_end(D(2024, 4, 1), [C1], {"C1": ended}).decision == "partner_exit"


def test_no_decision_row_counts_as_ended_once_end_date_has_passed():
    assert r.cooperation_end(D(2024, 3, 1), [C1], {}) == r.CooperationEnd("C1", D(2024, 2, 29), None)
    assert r.cooperation_end(D(2024, 2, 1), [C1], {}) is None  # 02-29 is the month's last day: not passed
    assert r.cooperation_end(D(2024, 3, 1), [], {}) is None  # no contract at all: nothing ended


def test_a_started_successor_contract_continues_the_cooperation():
    decisions = {"C1": [r.Decision(D(2024, 1, 1), "not_renewed")]}
    assert r.cooperation_end(D(2024, 3, 1), [C1, C2], decisions) is None  # C2 started 03-01
    # a successor that starts later does not hide the end for the months before it starts
    late = r.Contract("C3", D(2025, 6, 1), D(2026, 5, 31))
    assert r.cooperation_end(D(2024, 5, 1), [C1, late], decisions).contract_id == "C1"
