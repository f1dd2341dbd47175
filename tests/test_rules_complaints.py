"""第七条/附件6 (SPEC §2), 第八条/附件7 (SPEC §3) and 附件5 health (SPEC §4.1): hand-computed boundaries."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migu_assets.rules.complaints import notifications_for
from migu_assets.rules.health import health_score, timely_rate
from migu_assets.rules.periods import add_months, month_end, month_start, next_month, period_window
from migu_assets.rules.warnings import tiers_reached

D = dt.date


@pytest.mark.parametrize(
    ("complaints", "expected"),
    [(0, 0), (1, 0), (4, 0), (5, 1), (9, 1), (10, 2), (14, 2), (15, 3), (24, 4), (25, 5)],
)
def test_附件6_notifications_per_day(policy, complaints, expected):
    """附件6: <5 不记; ≥5 记1次; 每增加5件 +1 (SPEC §2: 5→1, 9→1, 10→2, 24→4)."""
    assert notifications_for(complaints, policy.complaints) == expected


def _tiers(policy, days):
    return tiers_reached("P1", D(2024, 1, 1), days, policy.warning_tiers)


def test_附件7_four_notifications_reach_no_tier(policy):
    assert _tiers(policy, [(D(2024, 1, 3), 2), (D(2024, 1, 4), 2)]) == []


def test_附件7_fifth_notification_triggers_tier_1_on_that_day(policy):
    rows = _tiers(policy, [(D(2024, 1, 3), 2), (D(2024, 1, 4), 2), (D(2024, 1, 8), 1)])
    assert [(r.tier, r.trigger_date, r.monthly_notifications) for r in rows] == [(1, D(2024, 1, 8), 5)]
    r = rows[0]
    # 一级: promotion 7 days, new codes 1 month; from = trigger + 1 day, until = trigger + period (inclusive).
    assert (r.promotion_suspended_from, r.promotion_suspended_until) == (D(2024, 1, 9), D(2024, 1, 15))
    assert (r.code_suspended_from, r.code_suspended_until) == (D(2024, 1, 9), D(2024, 2, 8))
    assert r.clause == "附件7/一级预警"
    assert "一级预警" in r.reason


def test_附件7_nineteen_is_tier_3_and_twenty_is_tier_4(policy):
    days19 = [(D(2024, 3, d), 1) for d in range(1, 20)]
    assert [r.tier for r in _tiers(policy, days19)] == [1, 2, 3]
    rows = _tiers(policy, days19 + [(D(2024, 3, 20), 1)])
    assert [r.tier for r in rows] == [1, 2, 3, 4]
    t4 = rows[-1]
    assert t4.trigger_date == D(2024, 3, 20)
    # 四级: promotion 6 months, codes 4 months.
    assert t4.promotion_suspended_until == D(2024, 9, 20)
    assert t4.code_suspended_until == D(2024, 7, 20)
    assert {r.monthly_notifications for r in rows} == {20}


def test_附件7_one_day_passing_two_thresholds_gives_both_rows_that_day(policy):
    rows = _tiers(policy, [(D(2024, 1, 2), 4), (D(2024, 1, 5), 7)])  # 4 → 11 on Jan 5: passes 5 and 10
    assert [(r.tier, r.trigger_date) for r in rows] == [(1, D(2024, 1, 5)), (2, D(2024, 1, 5))]


def test_附件7_trigger_on_month_end_runs_into_next_month(policy):
    rows = _tiers(policy, [(D(2024, 1, 31), 10)])
    t1, t2 = rows
    assert (t1.promotion_suspended_from, t1.promotion_suspended_until) == (D(2024, 2, 1), D(2024, 2, 7))
    # 2024-01-31 + 1 month = 2024-02-29 (clamped to month end, leap year); + 2 months = 2024-03-31.
    assert t1.code_suspended_until == D(2024, 2, 29)
    assert t2.promotion_suspended_until == D(2024, 2, 29)
    assert t2.code_suspended_until == D(2024, 3, 31)


def test_periods_jan_30_plus_one_month_in_a_leap_year(policy):
    one_month = policy.warning_tiers[1].promotion
    assert period_window(D(2024, 1, 30), one_month) == (D(2024, 1, 31), D(2024, 2, 29))
    assert period_window(D(2023, 1, 30), one_month) == (D(2023, 1, 31), D(2023, 2, 28))
    assert add_months(D(2024, 2, 29), 12) == D(2025, 2, 28)


def test_spec_example_trigger_jan_8_one_month(policy):
    """SPEC §3 example: trigger 2024-01-08, 1 month → from 01-09 until 02-08."""
    assert period_window(D(2024, 1, 8), policy.warning_tiers[1].promotion) == (D(2024, 1, 9), D(2024, 2, 8))


@pytest.mark.parametrize(
    ("ok", "due", "expected_rate"),
    [(0, 0, Decimal(1)), (19, 20, Decimal("0.95")), (9499, 10000, Decimal("0.9499"))],
)
def test_附件5_timely_rate(ok, due, expected_rate):
    assert timely_rate(ok, due) == expected_rate


def test_附件5_timely_rate_exactly_95_percent_not_penalised(policy):
    assert health_score(0, timely_rate(19, 20), policy.health).health == 100
    assert health_score(0, timely_rate(9500, 10000), policy.health).health == 100


def test_附件5_timely_rate_94_99_percent_loses_20(policy):
    h = health_score(0, timely_rate(9499, 10000), policy.health)
    assert h.health == 80
    assert "扣20分" in h.reason


def test_附件5_each_notification_costs_25(policy):
    assert health_score(1, Decimal(1), policy.health).health == 75
    assert health_score(3, Decimal("0.5"), policy.health).health == 100 - 75 - 20


def test_附件5_health_floored_at_zero(policy):
    assert health_score(4, Decimal(1), policy.health).health == 0
    assert health_score(4, Decimal("0.9"), policy.health).health == 0
    assert health_score(9, Decimal(1), policy.health).health == 0


@given(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 11, 30)))
def test_next_month_is_calendar_month_arithmetic_from_the_first_day(day):
    """periods.next_month computes directly what add_months (relativedelta) gives from the month's first day."""
    assert next_month(day) == add_months(month_start(day), 1)
    assert month_end(day) == add_months(month_start(day), 1) - dt.timedelta(days=1)


def test_next_month_boundaries():
    assert next_month(dt.date(2024, 12, 31)) == dt.date(2025, 1, 1)
    assert next_month(dt.date(2024, 1, 31)) == dt.date(2024, 2, 1)
    assert month_end(dt.date(2024, 2, 10)) == dt.date(2024, 2, 29)  # leap year
    assert month_end(dt.date(2023, 2, 10)) == dt.date(2023, 2, 28)
