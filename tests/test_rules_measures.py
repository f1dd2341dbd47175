"""第十条、第十四条、第十条注 (SPEC v2 §5a): measures and their status as of a day, every status at its boundary day.

Dates hand-checked on the 2024 calendar: January E issued Fri 2024-03-01 → 5 working days Mon 4, 5, 6, 7, Fri 8 →
due 2024-03-08; Sat 9 and Sun 10 are rest days, Mon 11 is the first working day overdue.
"""

import datetime as dt
from decimal import Decimal

import pytest

from migu_assets import vocabulary as V
from migu_assets.policy import load_policy_book
from migu_assets.rules import measures as m
from migu_assets.rules.credit import MonthResult, grade_for, required_codes
from migu_assets.rules.workdays import WorkdayCalendar
from migu_assets.vocabulary import MEASURE_STATUS_NAMES

CREDIT = load_policy_book().latest.credit  # grade bands and their measures come from the policy (v2.1)
SCORE = {"A": 850, "B": 700, "C": 500, "D": 400, "E": 200, "F": 100, "TERMINATED": 0}


def G(letter: str):  # noqa: N802 — a grade of the shipped bands
    return grade_for(Decimal(SCORE[letter]), CREDIT)


def R(month, grade, issued, due, sup):  # noqa: N802 — a month's result with the codes its grade requires
    return MonthResult(month, grade, issued, due, sup, required_codes(grade, CREDIT))


D = dt.date
CAL = WorkdayCalendar()
JAN, FEB, MAR = D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)


def jan_e(code=V.STOP_NEW_BUSINESS):
    return next(x for x in m.grade_measures("P1", JAN, G("E"), D(2024, 3, 1), D(2024, 3, 8), "第十条/E", CREDIT) if x.code == code)


def entry(measure, as_of, results=None, execution=None, ended=None):
    results = results if results is not None else {JAN: R(JAN, "E", D(2024, 3, 1), D(2024, 3, 8), None)}
    return m.ledger_entry(
        measure, as_of, execution=execution, results=results, cooperation_ended_on=ended, calendar=CAL
    )


# ------------------------------------------------------------------ measures of a month
def test_第十条_grade_measures_are_cumulative_with_stable_ids():
    codes = {
        g: [x.code for x in m.grade_measures("P1", JAN, G(g), D(2024, 3, 1), D(2024, 3, 8), "c", CREDIT)] for g in SCORE
    }
    assert codes["A"] == codes["B"] == []
    assert codes["C"] == ["stop_new_business"]
    assert codes["D"] == ["stop_new_business", "suspend_billing_or_promotion"]
    assert codes["E"] == [*codes["D"], "suspend_settlement"]
    assert codes["F"] == [*codes["E"], "suspend_all_sales"]
    assert codes["TERMINATED"] == ["terminate_cooperation"]
    x = jan_e()
    assert x.measure_id == "grade:P1:2024-01:stop_new_business"
    assert (x.source, x.due_on, x.ends_on, x.clause) == ("grade", D(2024, 3, 8), None, "第十条/E")
    assert "2024-03-08" in x.reason


def test_附件7_tier_gives_two_measures_due_on_their_from_dates():
    rows = m.tier_measures(
        "P1", JAN, 1, (D(2024, 1, 9), D(2024, 1, 15)), (D(2024, 1, 9), D(2024, 2, 8)), "附件7/一级预警"
    )
    assert [(r.measure_id, r.due_on, r.ends_on) for r in rows] == [
        ("tier:P1:2024-01:1:suspend_promotion", D(2024, 1, 9), D(2024, 1, 15)),
        ("tier:P1:2024-01:1:suspend_new_codes", D(2024, 1, 9), D(2024, 2, 8)),
    ]


def test_附件1_control_actions_give_a_measure_only_for_suspensions_and_issuer_requirements():
    args = ("P1", JAN, "业务B1", D(2024, 1, 10), D(2024, 2, 9), "附件1")
    x = m.control_measure("E1:business:suspend_promotion", args[0], args[1], "suspend_promotion", *args[2:])
    assert (x.measure_id, x.due_on, x.ends_on) == (
        "control:E1:business:suspend_promotion",
        D(2024, 1, 10),
        D(2024, 2, 9),
    )
    assert m.control_measure("E1:business:warning", args[0], args[1], "warning", *args[2:]) is None
    manual = m.control_measure(
        "E2:b", "P1", JAN, "manual_per_issuer", "业务B1", D(2024, 1, 10), None, "附件3/说明2", "下架"
    )
    assert manual.ends_on is None and "下架" in manual.reason


# ------------------------------------------------------------------ statuses and their boundary days
def test_第十四条_open_through_the_due_day_then_overdue_in_working_days():
    assert entry(jan_e(), D(2024, 3, 8)).status == "open"  # the due day itself, inclusive
    sat = entry(jan_e(), D(2024, 3, 9))
    assert (sat.status, sat.working_days_overdue) == ("overdue", 0)  # overdue by calendar, no working day yet
    mon = entry(jan_e(), D(2024, 3, 11))
    assert (mon.status, mon.working_days_overdue, mon.lifecycle) == ("overdue", 1, "active")
    assert "逾期1个工作日" in mon.reason
    assert entry(jan_e(), D(2024, 3, 8)).working_days_overdue is None


def test_第十四条_overdue_working_days_skip_the_qingming_holiday():
    # due Tue 2024-04-02; Apr 3 (1), Apr 4–6 holiday, Sun Apr 7 调休 working (2), Mon Apr 8 (3)
    x = m.grade_measures("P1", FEB, G("C"), D(2024, 3, 26), D(2024, 4, 2), "第十条/C", CREDIT)[0]
    results = {FEB: R(FEB, "C", D(2024, 3, 26), D(2024, 4, 2), None)}
    assert entry(x, D(2024, 4, 8), results).working_days_overdue == 3


def test_第十四条_done_on_the_due_day_done_late_the_day_after():
    on_time = entry(jan_e(), D(2024, 3, 20), execution=m.Execution(D(2024, 3, 8), "张三"))
    late = entry(jan_e(), D(2024, 3, 20), execution=m.Execution(D(2024, 3, 9), "张三"))
    assert (on_time.status, on_time.executed_by) == ("done", "张三")
    assert late.status == "done_late" and late.working_days_overdue is None
    # an execution after as_of has not happened yet on that day
    assert entry(jan_e(), D(2024, 3, 8), execution=m.Execution(D(2024, 3, 9), "张三")).status == "open"


def _e_then_b():
    """January E issued 03-01 (due 03-08); February B issued 03-04 → supersedes January (SPEC v2 §5 example)."""
    return {
        JAN: R(JAN, "E", D(2024, 3, 1), D(2024, 3, 8), None),
        FEB: R(FEB, "B", D(2024, 3, 4), D(2024, 3, 11), JAN),
    }


def test_第十四条_superseded_once_the_later_result_is_received():
    before = entry(jan_e(), D(2024, 3, 3), _e_then_b())
    assert (before.status, before.superseded_by_month, before.grade_in_force) == ("open", None, "E")
    after = entry(jan_e(), D(2024, 3, 4), _e_then_b())
    assert (after.status, after.superseded_by_month, after.grade_in_force) == ("superseded", FEB, "B")
    assert after.lifted_by_month == FEB  # B no longer requires it either; superseded comes first
    # executed before the supersession: still done, lifecycle says what became of it
    done = entry(jan_e(), D(2024, 3, 4), _e_then_b(), execution=m.Execution(D(2024, 3, 2), "李四"))
    assert (done.status, done.lifecycle) == ("done", "superseded")


def test_第十四条_lifted_by_the_first_later_result_that_no_longer_requires_the_code():
    # January E due 03-08 not superseded; February C issued 03-11 (after the due day) lifts all but stop_new_business
    results = {
        JAN: R(JAN, "E", D(2024, 3, 1), D(2024, 3, 8), None),
        FEB: R(FEB, "C", D(2024, 3, 11), D(2024, 3, 18), None),
    }
    settle = jan_e(V.SUSPEND_SETTLEMENT)
    sunday = entry(settle, D(2024, 3, 10), results)
    assert (sunday.status, sunday.lifted_by_month) == ("overdue", None)
    lifted = entry(settle, D(2024, 3, 11), results)
    assert (lifted.status, lifted.lifted_by_month, lifted.lifecycle) == ("lifted", FEB, "lifted")
    assert entry(jan_e(), D(2024, 3, 11), results).status == "overdue"  # C still requires stop_new_business
    assert entry(jan_e(), D(2024, 3, 11), results).working_days_overdue == 1


def test_第十条_a_later_termination_lifts_nothing_and_termination_is_never_lifted():
    results = {
        JAN: R(JAN, "E", D(2024, 3, 1), D(2024, 3, 8), None),
        FEB: R(FEB, "TERMINATED", D(2024, 3, 11), D(2024, 3, 18), None),
    }
    assert entry(jan_e(V.SUSPEND_SETTLEMENT), D(2024, 3, 12), results).lifted_by_month is None
    term = m.grade_measures("P1", FEB, G("TERMINATED"), D(2024, 3, 11), D(2024, 3, 18), "第十条/终止", CREDIT)[0]
    results[MAR] = R(MAR, "A", D(2024, 4, 8), D(2024, 4, 15), None)  # e.g. after a re-entry
    assert entry(term, D(2024, 4, 20), results).lifted_by_month is None


def test_第十条注_stop_new_business_and_suspend_settlement_lapse_when_cooperation_ends():
    ended = D(2024, 3, 15)
    assert entry(jan_e(), D(2024, 3, 14), ended=ended).status == "overdue"
    lapsed = entry(jan_e(), D(2024, 3, 15), ended=ended)
    assert (lapsed.status, lapsed.lapsed_on, lapsed.lifecycle) == ("lapsed", ended, "lapsed")
    assert "第十条注" in lapsed.reason
    assert entry(jan_e(V.SUSPEND_SETTLEMENT), D(2024, 3, 15), ended=ended).status == "lapsed"
    billing = entry(jan_e(V.SUSPEND_BILLING_OR_PROMOTION), D(2024, 3, 15), ended=ended)
    assert (billing.status, billing.lapsed_on) == ("overdue", None)  # not named by 第十条注


def test_第十条注_lapsed_on_is_filled_also_for_a_lifted_measure():
    results = {
        JAN: R(JAN, "E", D(2024, 3, 1), D(2024, 3, 8), None),
        FEB: R(FEB, "A", D(2024, 3, 11), D(2024, 3, 18), None),
    }
    x = entry(jan_e(V.SUSPEND_SETTLEMENT), D(2024, 3, 20), results, ended=D(2024, 3, 15))
    assert (x.status, x.lifted_by_month, x.lapsed_on) == ("lifted", FEB, D(2024, 3, 15))


def test_附件7_ended_the_day_after_the_last_suspended_day():
    promo = m.tier_measures("P1", JAN, 1, (D(2024, 1, 9), D(2024, 1, 15)), (D(2024, 1, 9), D(2024, 2, 8)), "附件7")[0]
    assert entry(promo, D(2024, 1, 9), {}).status == "open"
    assert entry(promo, D(2024, 1, 15), {}).status == "overdue"  # last suspended day, still not executed
    gone = entry(promo, D(2024, 1, 16), {})
    assert (gone.status, gone.lifecycle, gone.working_days_overdue) == ("ended", "ended", None)
    done = entry(promo, D(2024, 1, 16), {}, execution=m.Execution(D(2024, 1, 9), "王五"))
    assert (done.status, done.lifecycle) == ("done", "ended")


@pytest.mark.parametrize("status", m.STATUSES)
def test_every_status_has_a_chinese_name(status):
    assert MEASURE_STATUS_NAMES[status]
