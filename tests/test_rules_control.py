"""SPEC §6 control actions (第八条, 附件1–4) as pure rules: one test per table row, escalation (附件3 说明1),
sub-channel repeats, issuer requirements and period end dates. Expected dates are computed by hand."""

import datetime as dt

import pytest

from migu_assets.policy import ControlRules, Escalation, Period
from migu_assets.rules.control import ControlAction, ControlEvent, control_actions, escalation_step

D = dt.date
NW = "NATIONWIDE"
SC, BIZ, SUS = "sub_channel", "business", "suspend_promotion"


def ev(event_id, event_type, day, province=None, sub_channel="SC1", business="B1", partner="P1", issuer=None):
    return ControlEvent(event_id, partner, business, sub_channel, event_type, province, day, issuer)


def run(policy, *events) -> list[ControlAction]:
    return control_actions(list(events), policy.control)


def is_escalation(r: ControlAction) -> bool:
    """An 附件3 说明1 warning escalation (sub-channel repeat rows cite the same clause but are not escalations)."""
    return ":esc" in r.action_id


def brief(rows):
    """(action_id, target, action, scope, start, end, clause) per row."""
    return [(r.action_id, r.target, r.action, r.scope, r.start_date, r.end_date, r.clause) for r in rows]


# ------------------------------------------------------------------ one test per SPEC §6 table row


def test_row_provincial_important_complaint_附件1(policy):
    """附件1: B suspended in the province 1 month; no S action even when the event names a sub-channel."""
    rows = run(policy, ev("E1", "provincial_important_complaint", D(2024, 3, 5), "GD"))
    assert brief(rows) == [
        ("E1:business:suspend_promotion", BIZ, SUS, "GD", D(2024, 3, 6), D(2024, 4, 5), "附件1"),
    ]
    r = rows[0]
    assert (r.partner_id, r.business_id, r.sub_channel_id, r.month) == ("P1", "B1", None, D(2024, 3, 1))
    assert r.source_event_id == "E1" and r.issuer_requirement is None
    assert "关停当省（GD）推广1个月（2024-03-06至2024-04-05）" in r.reason


def test_row_regulator_supervised_provincial_附件2(policy):
    """附件2 省通管局: S 3 months and B 1 month, both in the province."""
    rows = run(policy, ev("E1", "regulator_supervised_provincial", D(2024, 3, 5), "GD"))
    assert brief(rows) == [
        ("E1:sub_channel:suspend_promotion", SC, SUS, "GD", D(2024, 3, 6), D(2024, 6, 5), "附件2"),
        ("E1:business:suspend_promotion", BIZ, SUS, "GD", D(2024, 3, 6), D(2024, 4, 5), "附件2"),
    ]
    assert (rows[0].sub_channel_id, rows[0].business_id) == ("SC1", "B1")
    assert rows[1].sub_channel_id is None


def test_row_regulator_supervised_national_附件2(policy):
    """附件2 全国性监管机构: S nationwide 4 months, B nationwide 1 month — nationwide even if a province is named."""
    rows = run(policy, ev("E1", "regulator_supervised_national", D(2024, 3, 5), "GD"))
    assert brief(rows) == [
        ("E1:sub_channel:suspend_promotion", SC, SUS, NW, D(2024, 3, 6), D(2024, 7, 5), "附件2"),
        ("E1:business:suspend_promotion", BIZ, SUS, NW, D(2024, 3, 6), D(2024, 4, 5), "附件2"),
    ]
    assert "关停全网推广4个月" in rows[0].reason


def test_row_dial_test_provincial_附件3(policy):
    """附件3 省公司拨测: S in the province 3 months; B one warning (start = event date, no end)."""
    rows = run(policy, ev("E1", "dial_test_provincial", D(2024, 3, 5), "GD"))
    assert brief(rows) == [
        ("E1:sub_channel:suspend_promotion", SC, SUS, "GD", D(2024, 3, 6), D(2024, 6, 5), "附件3"),
        ("E1:business:warning", BIZ, "warning", "GD", D(2024, 3, 5), None, "附件3"),
    ]
    assert "当月第1次警告" in rows[1].reason


def test_row_dial_test_group_附件3(policy):
    """附件3 集团/咪咕文化 风控/拨测: S nationwide 3 months; B one warning."""
    rows = run(policy, ev("E1", "dial_test_group", D(2024, 3, 5)))
    assert brief(rows) == [
        ("E1:sub_channel:suspend_promotion", SC, SUS, NW, D(2024, 3, 6), D(2024, 6, 5), "附件3"),
        ("E1:business:warning", BIZ, "warning", NW, D(2024, 3, 5), None, "附件3"),
    ]


def test_row_dial_test_miit_附件3(policy):
    """附件3 工信部拨测: S nationwide 3 months; B nationwide 15 days (no warning, so no escalation count)."""
    rows = run(policy, ev("E1", "dial_test_miit", D(2024, 3, 5), "GD"))
    assert brief(rows) == [
        ("E1:sub_channel:suspend_promotion", SC, SUS, NW, D(2024, 3, 6), D(2024, 6, 5), "附件3"),
        ("E1:business:suspend_promotion", BIZ, SUS, NW, D(2024, 3, 6), D(2024, 3, 20), "附件3"),
    ]
    assert "15天" in rows[1].reason


def test_row_dial_test_ca_附件3(policy):
    """附件3 通管局拨测: S in the province 3 months; B in the province 15 days."""
    rows = run(policy, ev("E1", "dial_test_ca", D(2024, 3, 5), "ZJ"))
    assert brief(rows) == [
        ("E1:sub_channel:suspend_promotion", SC, SUS, "ZJ", D(2024, 3, 6), D(2024, 6, 5), "附件3"),
        ("E1:business:suspend_promotion", BIZ, SUS, "ZJ", D(2024, 3, 6), D(2024, 3, 20), "附件3"),
    ]


@pytest.mark.parametrize("province, scope", [("GD", "GD"), (None, NW)])
def test_row_group_complaint_notice_附件4(policy, province, scope):
    """附件4 集团/文化投诉通报: B suspended 1 month (当省 only when the notice names a province) + a B warning; no S."""
    rows = run(policy, ev("E1", "group_complaint_notice", D(2024, 3, 5), province))
    assert brief(rows) == [
        ("E1:business:suspend_promotion", BIZ, SUS, scope, D(2024, 3, 6), D(2024, 4, 5), "附件4"),
        ("E1:business:warning", BIZ, "warning", scope, D(2024, 3, 5), None, "附件4"),
    ]


def test_no_sub_channel_id_gives_no_sub_channel_row(policy):
    """SPEC §6 S column: an S action needs a sub_channel_id; without one only the B rows are produced."""
    rows = run(
        policy,
        ev("E1", "dial_test_provincial", D(2024, 3, 5), "GD", sub_channel=None),
        ev("E2", "regulator_supervised_national", D(2024, 3, 6), sub_channel=None),
    )
    assert [r.action_id for r in rows] == ["E1:business:warning", "E2:business:suspend_promotion"]


# ------------------------------------------------------------------ 附件3 说明1: warning escalation


def _six_warnings():
    """B1 of P1 collects six warnings in March 2024 from 附件3 and 附件4 events, plus events that must not count."""
    return [
        ev("W1", "dial_test_provincial", D(2024, 3, 2), "GD"),
        ev("X1", "dial_test_miit", D(2024, 3, 3)),  # B suspension, not a warning
        ev("W2", "group_complaint_notice", D(2024, 3, 4), "GD"),
        ev("X2", "dial_test_group", D(2024, 3, 5), business="B2"),  # another business: its own count
        # Same day: order by event_id, so "W3a" (3rd) comes before "W3b" (4th) whatever the input order.
        ev("W3b", "group_complaint_notice", D(2024, 3, 6)),
        ev("W3a", "dial_test_group", D(2024, 3, 6)),
        ev("W5", "dial_test_provincial", D(2024, 3, 15), "GD", sub_channel="SC2"),
        ev("W6", "group_complaint_notice", D(2024, 3, 20)),
    ]


@pytest.mark.parametrize(
    "nth, event_id, expected",
    [
        (2, "W2", None),
        (3, "W3a", ("W3a:business:suspend_promotion:esc3", "business", "B1", D(2024, 3, 7), D(2024, 3, 21))),
        (4, "W3b", ("W3b:business:suspend_promotion:esc4", "business", "B1", D(2024, 3, 7), D(2024, 4, 6))),
        (5, "W5", ("W5:partner:suspend_promotion:esc5", "partner", None, D(2024, 3, 16), D(2024, 4, 15))),
        (6, "W6", ("W6:partner:suspend_promotion:esc6", "partner", None, D(2024, 3, 21), D(2024, 4, 20))),
    ],
    ids=["2nd-none", "3rd-business-15d", "4th-business-1m", "5th-partner-1m", "6th-partner-1m"],
)
def test_warning_escalation_附件3_说明1(policy, nth, event_id, expected):
    """附件3 说明1: the 2nd warning nothing; 3rd → business 15 days; 4th → 1 month; 5th and 6th → all businesses
    of the partner 1 month (target partner, business_id NULL). NATIONWIDE, anchored on the triggering event."""
    rows = run(policy, *_six_warnings())
    escalations = [r for r in rows if r.source_event_id == event_id and is_escalation(r)]
    warning = [r for r in rows if r.source_event_id == event_id and r.action == "warning"]
    assert len(warning) == 1 and f"当月第{nth}次警告" in warning[0].reason  # the warning row stays
    if expected is None:
        assert escalations == []
        return
    action_id, target, business, start, end = expected
    assert [(r.action_id, r.target, r.business_id, r.scope, r.start_date, r.end_date) for r in escalations] == [
        (action_id, target, business, NW, start, end)
    ]
    assert escalations[0].month == D(2024, 3, 1) and escalations[0].sub_channel_id is None
    assert escalations[0].clause == "附件3/说明1"
    assert f"第{nth}次警告" in escalations[0].reason


def test_escalation_rows_of_the_whole_month(policy):
    """附件3 说明1: exactly four escalation rows for B1 (3rd–6th warnings); B2's single warning and the 工信部
    B suspension do not escalate; all six B1 warning rows stay."""
    rows = run(policy, *_six_warnings())
    assert [r.action_id for r in rows if is_escalation(r)] == [
        "W3a:business:suspend_promotion:esc3",
        "W3b:business:suspend_promotion:esc4",
        "W5:partner:suspend_promotion:esc5",
        "W6:partner:suspend_promotion:esc6",
    ]
    assert len([r for r in rows if r.action == "warning" and r.business_id == "B1"]) == 6


def test_escalation_ladder_lookup():
    """附件3 说明1 ladder: exact steps 3 and 4, step 5 repeats for every later warning."""
    ladder = [
        Escalation(nth=3, target="business", period=Period(days=15)),
        Escalation(nth=4, target="business", period=Period(months=1)),
        Escalation(nth=5, target="partner", period=Period(months=1), repeats=True),
    ]
    steps = [escalation_step(n, ladder) for n in range(1, 9)]
    assert [s.nth if s else None for s in steps] == [None, None, 3, 4, 5, 5, 5, 5]
    # Without ``repeats`` a step fires only on its own count: the 6th warning of a [3, 4, 5] ladder does nothing.
    fixed = ladder[:2] + [Escalation(nth=5, target="partner", period=Period(months=1))]
    fixed_steps = [escalation_step(n, fixed) for n in range(1, 8)]
    assert [s.nth if s else None for s in fixed_steps] == [None, None, 3, 4, 5, None, None]


def test_warnings_straddling_a_month_end_count_separately(policy):
    """附件3 说明1 当月: Jan 29–31 are January's 1st–3rd warnings (3rd escalates); Feb 1–2 are February's 1st and
    2nd — no escalation, although they are the 4th and 5th in a row."""
    rows = run(
        policy,
        ev("J1", "dial_test_provincial", D(2024, 1, 29), "GD"),
        ev("J2", "group_complaint_notice", D(2024, 1, 30)),
        ev("J3", "dial_test_group", D(2024, 1, 31)),
        ev("F1", "dial_test_group", D(2024, 2, 1)),
        ev("F2", "group_complaint_notice", D(2024, 2, 2)),
    )
    esc = [(r.action_id, r.month, r.start_date, r.end_date) for r in rows if is_escalation(r)]
    assert esc == [("J3:business:suspend_promotion:esc3", D(2024, 1, 1), D(2024, 2, 1), D(2024, 2, 15))]
    feb_warnings = [r for r in rows if r.action == "warning" and r.month == D(2024, 2, 1)]
    assert ["当月第1次" in feb_warnings[0].reason, "当月第2次" in feb_warnings[1].reason] == [True, True]


# ------------------------------------------------------------------ 附件3 说明1: sub-channel repeats


def test_sub_channel_repeats_three_dial_tests_in_a_month(policy):
    """附件3 说明1: SC1's 1st, 2nd and 3rd dial-test controls in March last 3, 4 and 5 months (each on its own row,
    whatever the dial-test kind and province); a 附件2 S action between them neither counts nor lengthens; SC2 and
    April start again at 3 months."""
    rows = run(
        policy,
        ev("A", "dial_test_provincial", D(2024, 3, 1), "GD"),
        ev("B", "regulator_supervised_provincial", D(2024, 3, 5), "GD"),
        ev("C", "dial_test_miit", D(2024, 3, 10)),
        ev("X", "dial_test_group", D(2024, 3, 12), sub_channel="SC2"),
        ev("E", "dial_test_ca", D(2024, 3, 20), "ZJ"),
        ev("F", "dial_test_provincial", D(2024, 4, 2), "GD"),
    )
    s_rows = [
        (r.action_id, r.sub_channel_id, r.scope, r.start_date, r.end_date, r.clause)
        for r in rows
        if r.target == "sub_channel"
    ]
    assert s_rows == [
        ("A:sub_channel:suspend_promotion", "SC1", "GD", D(2024, 3, 2), D(2024, 6, 1), "附件3"),
        ("B:sub_channel:suspend_promotion", "SC1", "GD", D(2024, 3, 6), D(2024, 6, 5), "附件2"),
        ("C:sub_channel:suspend_promotion", "SC1", NW, D(2024, 3, 11), D(2024, 7, 10), "附件3/说明1"),
        ("X:sub_channel:suspend_promotion", "SC2", NW, D(2024, 3, 13), D(2024, 6, 12), "附件3"),
        ("E:sub_channel:suspend_promotion", "SC1", "ZJ", D(2024, 3, 21), D(2024, 8, 20), "附件3/说明1"),
        ("F:sub_channel:suspend_promotion", "SC1", "GD", D(2024, 4, 3), D(2024, 7, 2), "附件3"),
    ]
    by_id = {r.action_id: r for r in rows}
    assert "第2次" in by_id["C:sub_channel:suspend_promotion"].reason
    assert "4个月" in by_id["C:sub_channel:suspend_promotion"].reason
    assert "5个月" in by_id["E:sub_channel:suspend_promotion"].reason


# ------------------------------------------------------------------ 附件1–4 说明: issuer requirement


def test_issuer_requirement_replaces_rows_and_counts_for_nothing(policy):
    """附件3 说明2 (按发函/拨测单位要求): the event gives one manual_per_issuer row (target business, its province,
    start = event date, no end, the text) and counts neither as a warning nor as a sub-channel control."""
    text = "关停当省推广6个月"
    rows = run(
        policy,
        ev("W1", "dial_test_provincial", D(2024, 3, 1), "GD", sub_channel="SC9"),
        ev("W2", "group_complaint_notice", D(2024, 3, 2)),
        ev("M", "dial_test_provincial", D(2024, 3, 3), "GD", issuer=text),  # would be the 3rd warning, SC1's 1st
        ev("W3", "dial_test_group", D(2024, 3, 4)),
    )
    manual = [r for r in rows if r.source_event_id == "M"]
    assert [
        (
            r.action_id,
            r.target,
            r.action,
            r.business_id,
            r.scope,
            r.start_date,
            r.end_date,
            r.issuer_requirement,
            r.clause,
        )
        for r in manual
    ] == [
        ("M:business:manual_per_issuer", BIZ, "manual_per_issuer", "B1", "GD", D(2024, 3, 3), None, text, "附件3/说明2")
    ]
    assert "按发函/拨测单位要求" in manual[0].reason and text in manual[0].reason
    # W3 is the 3rd counted warning: it escalates; SC1's first counted control is W3's → 3 months.
    assert [r.action_id for r in rows if is_escalation(r)] == ["W3:business:suspend_promotion:esc3"]
    w3_s = [r for r in rows if r.action_id == "W3:sub_channel:suspend_promotion"][0]
    assert (w3_s.start_date, w3_s.end_date, w3_s.clause) == (D(2024, 3, 5), D(2024, 6, 4), "附件3")


def test_issuer_requirement_on_a_nationwide_event(policy):
    """附件2 说明 (若发函单位有明确处罚管控要求): a nationwide event's manual row is NATIONWIDE, clause 附件2/说明."""
    rows = run(policy, ev("M", "regulator_supervised_national", D(2024, 3, 3), issuer="按函件关停全网6个月"))
    assert brief(rows) == [
        ("M:business:manual_per_issuer", BIZ, "manual_per_issuer", NW, D(2024, 3, 3), None, "附件2/说明")
    ]


# ------------------------------------------------------------------ SPEC §3 period rule around month ends


@pytest.mark.parametrize(
    "event_type, day, target, start, end",
    [
        ("provincial_important_complaint", D(2024, 1, 30), "business", D(2024, 1, 31), D(2024, 2, 29)),  # 1 month
        ("provincial_important_complaint", D(2024, 1, 31), "business", D(2024, 2, 1), D(2024, 2, 29)),  # 1 month
        ("provincial_important_complaint", D(2024, 2, 29), "business", D(2024, 3, 1), D(2024, 3, 29)),  # 1 month
        ("dial_test_provincial", D(2024, 1, 30), "sub_channel", D(2024, 1, 31), D(2024, 4, 30)),  # 3 months
        ("dial_test_provincial", D(2024, 1, 31), "sub_channel", D(2024, 2, 1), D(2024, 4, 30)),  # 3 months
        ("dial_test_provincial", D(2024, 2, 29), "sub_channel", D(2024, 3, 1), D(2024, 5, 29)),  # 3 months
        ("regulator_supervised_national", D(2024, 1, 31), "sub_channel", D(2024, 2, 1), D(2024, 5, 31)),  # 4 months
        ("dial_test_miit", D(2024, 1, 30), "business", D(2024, 1, 31), D(2024, 2, 14)),  # 15 days
        ("dial_test_miit", D(2024, 1, 31), "business", D(2024, 2, 1), D(2024, 2, 15)),  # 15 days
        ("dial_test_ca", D(2024, 2, 29), "business", D(2024, 3, 1), D(2024, 3, 15)),  # 15 days
    ],
)
def test_period_end_dates_around_month_ends_spec_3(policy, event_type, day, target, start, end):
    """SPEC §3: from = event + 1 day, until = event + period inclusive, months clamped (01-31 + 1 month = 02-29)."""
    rows = run(policy, ev("E", event_type, day, "GD"))
    row = [r for r in rows if r.target == target and r.action == "suspend_promotion"][0]
    assert (row.start_date, row.end_date, row.month) == (start, end, day.replace(day=1))


def test_escalation_periods_from_month_end(policy):
    """附件3 说明1 + SPEC §3: a 4th warning on 2024-01-31 suspends the business 2024-02-01..2024-02-29."""
    rows = run(policy, *[ev(f"E{i}", "dial_test_group", D(2024, 1, 31)) for i in range(1, 5)])
    esc = [(r.action_id, r.start_date, r.end_date) for r in rows if is_escalation(r)]
    assert esc == [
        ("E3:business:suspend_promotion:esc3", D(2024, 2, 1), D(2024, 2, 15)),
        ("E4:business:suspend_promotion:esc4", D(2024, 2, 1), D(2024, 2, 29)),
    ]


# ------------------------------------------------------------------ ids, reasons, policy-driven numbers


def test_action_ids_unique_and_rows_explained(policy):
    """SPEC §6: every row has a unique deterministic action_id (≤ 160 chars), a clause and a Chinese reason."""
    events = _six_warnings() + [ev("R1", "regulator_supervised_provincial", D(2024, 3, 9), "GD")]
    first, second = run(policy, *events), run(policy, *reversed(events))
    assert first == second
    ids = [r.action_id for r in first]
    assert len(ids) == len(set(ids)) and max(map(len, ids)) <= 160
    assert all(r.clause.startswith("附件") and r.reason.endswith("。") for r in first)


def test_unknown_event_type_is_an_error(policy):
    with pytest.raises(ValueError, match="E9.*not_a_type"):
        run(policy, ev("E9", "not_a_type", D(2024, 3, 1)))


def test_numbers_come_from_the_policy(policy):
    """SPEC §10: the extra months per sub-channel repeat and the escalation periods are read from the policy."""
    ladder = [
        Escalation(nth=2, target="business", period=Period(days=7)),
        Escalation(nth=3, target="partner", period=Period(months=2), repeats=True),
    ]
    rules = policy.control.model_copy(update={"sub_channel_extra_months_per_repeat": 2, "warning_escalation": ladder})
    rows = control_actions(
        [ev("A", "dial_test_group", D(2024, 3, 1)), ev("B", "dial_test_group", D(2024, 3, 2))], rules
    )
    by_id = {r.action_id: r for r in rows}
    assert by_id["B:sub_channel:suspend_promotion"].end_date == D(2024, 8, 2)  # 3 + 2 months
    assert by_id["B:business:suspend_promotion:esc2"].end_date == D(2024, 3, 9)  # 7 days


def test_policy_rejects_a_ladder_out_of_order(policy):
    """SPEC §10: an invalid escalation ladder is a clear error."""
    raw = policy.control.model_dump()
    raw["warning_escalation"] = list(reversed(raw["warning_escalation"]))
    with pytest.raises(ValueError, match="strictly increasing nth"):
        ControlRules.model_validate(raw)
