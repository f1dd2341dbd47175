"""SPEC §7 settlement rules, pure (no database): 第四条 share rounding, 第十五条 负结算 carry and 联动止付,
第十条 E/F/TERMINATED hold, 第十九条 stop, 第二十四条 clearing period. Expectations are hand-computed Decimals."""

import datetime as dt
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

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
    assert s.notes == ("2024年04月评级终止（得分≤0），但合作已于2024-03-31结束，“暂停费用结算”措施相应结束（第十条注）",)
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


# ---------------------------------------------------------------- the ledger (SPEC v2 §7)
def third(share: str) -> r.MonthAmounts:
    return amounts(share)


def phone(share: str) -> r.MonthAmounts:
    return amounts(share, phone=True)


def run(facts: r.PartnerFacts, through, policy_book):
    return {e.balance.month: e for e in r.ledger(facts, through, lambda m: policy_book.for_month(m).settlement)}


LEDGER = ("status", "payable", "held_in", "withheld", "released", "exit_deducted", "paid", "held_balance")


def cols(e: r.LedgerEntry) -> tuple:
    return (e.status.status, e.balance.payable, e.held_in, e.withheld, e.released, e.exit_deducted, e.paid,
            e.held_balance)


def conserved(entries) -> bool:
    """SPEC v2 §7: Σ paid + Σ exit_deducted + last held_balance = Σ payable."""
    rows = [entries[m] for m in sorted(entries)]
    total = sum((e.paid + e.exit_deducted for e in rows), r.ZERO) + rows[-1].held_balance
    return total == sum((e.balance.payable for e in rows), r.ZERO)


def test_第十条_grade_E_month_withheld_and_released_the_next_payable_month(policy_book):
    facts = r.PartnerFacts(
        amounts={D(2024, 1, 1): third("100.00"), D(2024, 2, 1): third("12345.67"), D(2024, 3, 1): third("30.00")},
        grades={D(2024, 1, 1): "B", D(2024, 2, 1): "E", D(2024, 3, 1): "D"},
    )
    got = run(facts, D(2024, 4, 1), policy_book)
    assert [cols(got[m]) for m in sorted(got)] == [
        ("payable", M("100.00"), M("0.00"), M("0.00"), M("0.00"), M("0.00"), M("100.00"), M("0.00")),
        ("held", M("12345.67"), M("0.00"), M("12345.67"), M("0.00"), M("0.00"), M("0.00"), M("12345.67")),
        # March (grade D, not a held grade) releases February: paid 30.00 + 12,345.67
        ("payable", M("30.00"), M("12345.67"), M("0.00"), M("12345.67"), M("0.00"), M("12375.67"), M("0.00")),
    ]  # April: no items, no carry, nothing held → no row
    assert got[D(2024, 2, 1)].status.clause == "第十条/E"
    feb = r.entry_reason(got[D(2024, 2, 1)])
    assert feb.startswith("暂缓支付：2024年02月评级E，暂停结算（第十条）；本月应付12,345.67元暂扣；累计暂扣12,345.67元")
    mar = r.entry_reason(got[D(2024, 3, 1)])
    assert "释放此前暂扣款12,345.67元（2024年02月12,345.67元（第十条/E））" in mar and "本月实付12,375.67元" in mar
    assert conserved(got)


def test_第十五条_联动止付_over_three_months_released_at_once(policy_book):
    # hold 2024-02-10 .. 2024-04-01 (end inclusive): February, March and April are held, May releases all three
    facts = r.PartnerFacts(
        amounts={D(2024, m, 1): third(f"{m}0.00") for m in range(1, 6)},
        holds=(r.Hold(D(2024, 2, 10), D(2024, 4, 1), "负结算催缴无效，联动止付"),),
    )
    got = run(facts, D(2024, 6, 1), policy_book)
    assert [(got[m].status.clause, got[m].withheld, got[m].held_balance) for m in sorted(got)] == [
        ("第四条", M("0.00"), M("0.00")),
        ("第十五条/联动止付", M("20.00"), M("20.00")),
        ("第十五条/联动止付", M("30.00"), M("50.00")),
        ("第十五条/联动止付", M("40.00"), M("90.00")),
        ("第四条", M("0.00"), M("0.00")),
    ]
    may = got[D(2024, 5, 1)]
    assert (may.held_in, may.released, may.paid) == (M("90.00"), M("90.00"), M("140.00"))
    assert "2024年02月20.00元（第十五条/联动止付）、2024年03月30.00元" in r.entry_reason(may)
    assert conserved(got)


def test_第十四条_superseded_E_month_released_by_the_superseding_months_row(policy_book):
    """February's E result is superseded by March's B (issued within February's 5 working days): February's row
    is not rewritten — it still withholds — and March's payable row releases it, saying why."""
    facts = r.PartnerFacts(
        amounts={D(2024, 2, 1): third("80.00"), D(2024, 3, 1): third("20.00")},
        grades={D(2024, 2, 1): "E", D(2024, 3, 1): "B"},
        superseded_by={D(2024, 2, 1): D(2024, 3, 1)},
    )
    got = run(facts, D(2024, 3, 1), policy_book)
    feb, mar = got[D(2024, 2, 1)], got[D(2024, 3, 1)]
    assert (feb.status.status, feb.withheld, feb.held_balance) == ("held", M("80.00"), M("80.00"))
    assert (mar.status.status, mar.released, mar.paid, mar.held_balance) == ("payable", M("80.00"), M("100.00"),
                                                                             M("0.00"))
    assert "该月结果已被2024年03月的结果取代（第十四条），由本月释放" in r.entry_reason(mar)
    # computing February alone (through February) gives the same February row: no row depends on a later month
    assert cols(run(facts, D(2024, 2, 1), policy_book)[D(2024, 2, 1)]) == cols(feb)


EXIT_CONTRACT = r.Contract("C9", D(2023, 7, 1), D(2024, 6, 30))
NOT_RENEWED = {"C9": [r.Decision(D(2024, 5, 1), "not_renewed")]}


def _exit_facts(*deductions: r.ExitDeduction) -> r.PartnerFacts:
    months = {D(2024, m, 1): phone("100.00") for m in range(1, 9)}  # Jan–Aug 2024, phone-bill
    return r.PartnerFacts(
        amounts=months,
        grades={D(2024, 6, 1): "E"},  # June, the contract's last month: withheld, then carried into the clearing
        contracts=(EXIT_CONTRACT,),
        decisions=NOT_RENEWED,
        exit_deductions=deductions,
    )


def test_第二十四条_exit_with_phone_bill_held_exactly_9_months_then_released_minus_违约金(policy_book):
    penalty = r.ExitDeduction("X1", "penalty", M("150.00"), D(2024, 9, 15))
    late = r.ExitDeduction("X2", "audit", M("7.00"), D(2025, 5, 2))  # recorded after the release month
    got = run(_exit_facts(penalty, late), D(2025, 6, 1), policy_book)
    window = [D(2024, 7, 1) + relativedelta(months=k) for k in range(9)]  # 2024-07 .. 2025-03
    assert window[-1] == D(2025, 3, 1)
    assert all((got[m].status.status, got[m].status.clause) == ("held", "第二十四条/清算期") for m in window)
    # June 2024, the month of the end (06-30), is held by its own E grade (the contract still ran); Jul and Aug
    # have items, Sep–Mar none — they still get rows because money is held
    jun = got[D(2024, 6, 1)]
    assert (jun.status.clause, jun.withheld, jun.paid) == ("第十条/E", M("100.00"), M("0.00"))
    assert [got[m].withheld for m in window[:3]] == [M("100.00"), M("100.00"), M("0.00")]
    assert got[D(2025, 3, 1)].held_balance == M("300.00")
    apr = got[D(2025, 4, 1)]
    assert cols(apr) == ("payable", M("0.00"), M("300.00"), M("0.00"), M("150.00"), M("150.00"), M("150.00"),
                         M("0.00"))
    assert apr.deductions_applied == (penalty,) and apr.balance.carried_out == M("0.00")
    text = r.entry_reason(apr)
    assert "清算期满，扣除退出扣款共150.00元（违约金150.00元（X1，2024-09-15记录））" in text
    assert "释放此前暂扣款150.00元（2024年06月100.00元（第十条/E）、2024年07月100.00元" in text
    assert D(2025, 5, 1) not in got  # nothing held, nothing carried, no items; X2 came after the release
    assert conserved(got)


def test_第二十四条_deduction_larger_than_the_held_balance_leaves_a_negative_carry(policy_book):
    got = run(_exit_facts(r.ExitDeduction("X1", "penalty", M("350.00"), D(2025, 4, 30))), D(2025, 6, 1), policy_book)
    apr = got[D(2025, 4, 1)]  # recorded on the release month's last day: still counts
    assert cols(apr) == ("payable", M("0.00"), M("300.00"), M("0.00"), M("0.00"), M("300.00"), M("0.00"), M("0.00"))
    assert (apr.excess_deduction, apr.balance.net, apr.balance.carried_out) == (M("50.00"), M("0.00"), M("-50.00"))
    assert "超出暂扣余额的50.00元计入负结算结转下月" in r.entry_reason(apr)
    may = got[D(2025, 5, 1)]  # the carry is recovered from later settlements (第十五条)
    assert (may.balance.carried_in, may.balance.carried_out, may.paid) == (M("-50.00"), M("-50.00"), M("0.00"))
    assert conserved(got)


def test_第二十四条_clearing_needs_phone_bill_payment_during_the_contract(policy_book):
    facts = r.PartnerFacts(
        amounts={D(2024, m, 1): third("10.00") for m in range(5, 9)}, contracts=(EXIT_CONTRACT,), decisions=NOT_RENEWED
    )
    got = run(facts, D(2024, 8, 1), policy_book)
    assert {e.status.status for e in got.values()} == {"payable"}


def test_第十条注_month_after_cooperation_ended_with_grade_E_is_not_held_by_grade(policy_book):
    facts = r.PartnerFacts(
        amounts={D(2024, m, 1): third("10.00") for m in (6, 7)},  # third-party only: no clearing period
        grades={D(2024, 6, 1): "E", D(2024, 7, 1): "E"},
        contracts=(EXIT_CONTRACT,),
        decisions=NOT_RENEWED,
    )
    got = run(facts, D(2024, 7, 1), policy_book)
    jun, jul = got[D(2024, 6, 1)], got[D(2024, 7, 1)]
    assert (jun.status.status, jun.status.clause) == ("held", "第十条/E")  # the contract ran until 06-30
    assert (jul.status.status, jul.released, jul.paid) == ("payable", M("10.00"), M("20.00"))
    assert "2024年07月评级E，但合作已于2024-06-30结束，“暂停费用结算”措施相应结束（第十条注）" in r.entry_reason(jul)


def test_第十九条_violation_not_on_the_bad_credit_list_stops_and_is_never_released(policy_book):
    v = r.Violation("V1", D(2024, 3, 10), 2, bad_credit_list=False)
    facts = r.PartnerFacts(amounts={D(2024, m, 1): phone("10.00") for m in (2, 3, 4)}, violations=(v,))
    got = run(facts, D(2024, 8, 1), policy_book)
    assert [got[m].status.status for m in sorted(got)] == ["payable"] + ["stopped"] * 6  # Feb; Mar–Aug
    assert got[D(2024, 8, 1)].held_balance == M("20.00") and all(e.released == 0 for e in got.values())
    assert "本月应付10.00元停止结算、不予支付（第十九条）" in r.entry_reason(got[D(2024, 3, 1)])
    assert conserved(got)


def test_第十九条_violation_on_the_bad_credit_list_ends_cooperation_and_is_not_stopped(policy_book):
    """bad_credit_list = true: not stopped; cooperation ends on occurred_on (SPEC v2 §7), so with phone-bill
    payment the clearing period runs from that day; the violation month is graded TERMINATED (held, 第十条)."""
    v = r.Violation("V1", D(2024, 3, 10), 2, bad_credit_list=True)
    contract = r.Contract("C1", D(2023, 1, 1), D(2025, 12, 31))
    with_phone = r.PartnerFacts(
        amounts={D(2024, m, 1): phone("10.00") for m in (2, 3, 4)}, violations=(v,), contracts=(contract,)
    )
    got = run(with_phone, D(2025, 1, 1), policy_book)
    assert "stopped" not in {e.status.status for e in got.values()}
    # window (2024-03-10, 2024-12-10]: March–December held, January 2025 releases Mar + Apr = 20.00
    assert [got[D(2024, m, 1)].status.clause for m in range(3, 13)] == ["第十条/TERMINATED"] + [
        "第二十四条/清算期"
    ] * 9
    assert "第二十四条" in got[D(2024, 3, 1)].status.findings[1]  # March is inside the window too
    jan = got[D(2025, 1, 1)]
    assert (jan.status.status, jan.released, jan.paid) == ("payable", M("20.00"), M("20.00"))
    assert "按《咪咕文化科技有限公司合作伙伴不良信用名单管理办法》认定" in r.entry_reason(got[D(2024, 4, 1)])
    # without phone-bill payment: the violation month is held by its TERMINATED grade, April releases it
    third_only = r.PartnerFacts(amounts={D(2024, m, 1): third("10.00") for m in (2, 3, 4)}, violations=(v,))
    got = run(third_only, D(2024, 4, 1), policy_book)
    assert [(got[m].status.clause, got[m].released) for m in sorted(got)] == [
        ("第四条", M("0.00")),
        ("第十条/TERMINATED", M("0.00")),
        ("第四条", M("10.00")),
    ]


def test_第十九条_第二十四条_cooperation_ends_on_the_earlier_of_contract_end_and_bad_credit_list_violation():
    listed = r.Violation("V1", D(2024, 1, 20), 1, bad_credit_list=True)
    plain = r.Violation("V0", D(2023, 12, 1), 1, bad_credit_list=False)
    decisions = {"C1": [r.Decision(D(2024, 1, 1), "not_renewed")]}
    # contract C1 ends 2024-02-29; the listed violation on 01-20 is earlier
    got = r.cooperation_end(D(2024, 3, 1), [C1], decisions, violations=[plain, listed])
    assert got == r.CooperationEnd("C1", D(2024, 1, 20), "terminated", "V1")
    # a violation after the contract end does not move it
    later = r.Violation("V2", D(2024, 3, 5), 1, bad_credit_list=True)
    assert r.cooperation_end(D(2024, 3, 1), [C1], decisions, violations=[later]).end_date == D(2024, 2, 29)
    # not yet occurred by the end of the month asked about → not ended (the contract still runs in January)
    assert r.cooperation_end(D(2023, 12, 1), [C1], {}, violations=[listed]) is None
    # no contract at all: the violation alone ends the cooperation
    assert r.cooperation_end(D(2024, 1, 1), [], {}, violations=[listed]) == r.CooperationEnd(
        None, D(2024, 1, 20), "terminated", "V1"
    )
    # backwards compatible: without violations, the contract-based end as before
    assert r.cooperation_end(D(2024, 3, 1), [C1], decisions) == r.CooperationEnd("C1", D(2024, 2, 29), "not_renewed")


def test_第二十四条_cooperation_end_reads_only_decisions_known_by_the_month():
    late = {"C1": [r.Decision(D(2024, 5, 1), "not_renewed")]}  # a decision row of a later month
    assert r.cooperation_end(D(2024, 2, 1), [C1], late) is None


def test_第十五条_第二十四条_ledger_conserves_money_in_random_histories(policy_book):
    import random

    rng = random.Random(7)
    for _ in range(200):
        months = [D(2024, 1, 1) + relativedelta(months=k) for k in range(18)]
        facts = r.PartnerFacts(
            amounts={
                m: amounts(f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}", f"{rng.randint(0, 6000)}.00",
                           phone=rng.random() < 0.5)
                for m in months[:12] if rng.random() < 0.8
            } or {months[0]: third("1.00")},
            grades={m: rng.choice("ABCDEF") for m in months},
            holds=tuple(r.Hold(m, m + relativedelta(days=rng.randint(0, 70)), "x") for m in months if rng.random() < 0.1),
            violations=(r.Violation("V", months[rng.randint(0, 17)], 1, rng.random() < 0.5),) if rng.random() < 0.3
            else (),
            contracts=(r.Contract("C", D(2023, 1, 1), months[rng.randint(0, 11)] - relativedelta(days=1)),),
            decisions={"C": [r.Decision(D(2023, 12, 1), rng.choice(["renew", "not_renewed", "partner_exit"]))]},
            exit_deductions=(r.ExitDeduction("X", "penalty", M(f"{rng.randint(1, 9000)}.00"), months[3]),),
        )
        got = run(facts, months[-1], policy_book)
        assert conserved(got)
        for e in got.values():
            assert e.held_balance >= 0 and e.paid >= 0
            assert e.held_balance == e.held_in + e.withheld - e.released - e.exit_deducted


def test_第十九条_a_listed_violation_before_a_new_contract_belongs_to_the_earlier_cooperation():
    listed = r.Violation("V1", D(2024, 1, 20), 1, bad_credit_list=True)
    reentry = r.Contract("C5", D(2026, 3, 1), D(2027, 2, 28))
    assert r.cooperation_end(D(2026, 4, 1), [C1, reentry], {}, violations=[listed]) is None
    assert r.cooperation_end(D(2026, 2, 1), [C1, reentry], {}, violations=[listed]).violation_id == "V1"


def test_第十九条_re_entry_after_the_ban_is_settled_again_and_the_stopped_money_stays_stopped(policy_book):
    """SPEC v2 §4.3 re-entry: a plain violation on 2024-03-10 stops C1's settlement (第十九条); after the 2-year ban
    the partner signs C2 from 2026-04-01. From April 2026 the new cooperation is payable again, while the 20.00
    stopped in March and April 2024 is never released (it stays in the held balance)."""
    v = r.Violation("V1", D(2024, 3, 10), 2, bad_credit_list=False)
    c1, c2 = r.Contract("C1", D(2023, 1, 1), D(2024, 12, 31)), r.Contract("C2", D(2026, 4, 1), D(2027, 3, 31))
    amounts_by_month = {D(2024, m, 1): third("10.00") for m in (2, 3, 4)} | {
        D(2026, 4, 1): third("20.00"), D(2026, 5, 1): third("20.00")}
    facts = r.PartnerFacts(amounts=amounts_by_month, violations=(v,), contracts=(c1, c2))
    got = run(facts, D(2026, 5, 1), policy_book)
    assert [got[D(2024, m, 1)].status.status for m in (2, 3, 4)] == ["payable", "stopped", "stopped"]
    assert got[D(2026, 3, 1)].status.status == "stopped" and got[D(2026, 3, 1)].held_balance == M("20.00")
    april, may = got[D(2026, 4, 1)], got[D(2026, 5, 1)]
    assert cols(april) == ("payable", M("20.00"), M("20.00"), M("0.00"), M("0.00"), M("0.00"), M("20.00"), M("20.00"))
    assert (may.paid, may.released, may.held_balance) == (M("20.00"), M("0.00"), M("20.00"))
    assert conserved(got)
