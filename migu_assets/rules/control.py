"""Control actions on promotion sub-channels and businesses (第八条, 附件1–4; SPEC §6).

Every ``control_events`` row produces the sub-channel (S) and business (B) actions of its event type, as listed in
the policy file's ``control.events`` (no number lives here). Readings of the SPEC fixed in this module:

- **Scope.** An action's scope is the event's province when the policy row says ``province`` and the event names
  one, else ``NATIONWIDE``; a ``nationwide`` row is NATIONWIDE even when the event names a province.
- **Periods** follow SPEC §3 (:func:`migu_assets.rules.periods.period_window`): start = event_date + 1 day, end
  (inclusive) = event_date + period, months clamped to month end. A ``warning`` and a ``manual_per_issuer`` row
  start on the event date and have no end date.
- **No sub-channel, no S row.** An S action needs a ``sub_channel_id``; an event without one produces only its
  B rows, and does not count as a sub-channel control.
- **Warning escalation (附件3 说明1).** Warnings (the B ``warning`` of 附件3 events and the extra warning of 附件4)
  are counted per partner, business and calendar month of the event date, in (event_date, event_id) order — event
  ids compared as Python strings, so SQLite and PostgreSQL give the same order. The n-th warning triggers the
  escalation step of ``control.warning_escalation`` with ``nth == n`` (or the last step, when it ``repeats``, for
  every later n). An escalation row is NATIONWIDE, anchored on the triggering warning's event (its
  ``source_event_id``), with clause ``附件3/说明1``; the warning rows stay. A ``partner`` step (suspend all the
  partner's businesses) has ``target = partner`` and ``business_id = NULL``: it covers every business, and the
  triggering business is named in the reason and reachable through ``source_event_id``.
- **Sub-channel repeats (附件3 说明1).** For event types with ``sub_channel_repeats`` (the 附件3 dial tests), the
  k-th such control of one partner's sub-channel in a calendar month — whatever its province or dial-test kind —
  lasts the table's months + (k − 1) × ``sub_channel_extra_months_per_repeat`` months, on its own row (k ≥ 2 rows
  cite ``附件3/说明1``). 附件2 sub-channel suspensions neither count nor lengthen.
- **Issuer requirement (按发函/拨测单位要求).** A non-blank ``issuer_requirement`` replaces the event's rows by one
  ``manual_per_issuer`` row (target ``business``, scope = the event's province or NATIONWIDE whatever the table
  says, start = event_date, no end) carrying the text; the event counts toward no escalation, neither as a warning
  nor as a sub-channel control. The row keeps the event's ``sub_channel_id`` for information.
- **Ids.** ``action_id = f"{source_event_id}:{target}:{action}"``, plus ``f":esc{n}"`` for the escalation of the
  n-th warning: deterministic and unique (event ids are unique); ``month`` is the first day of the event's month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from migu_assets.policy import ControlEventRule, ControlRule, ControlRules, Escalation, Period
from migu_assets.rules.periods import month_start, period_window

NATIONWIDE = "NATIONWIDE"
ESCALATION_CLAUSE = "附件3/说明1"
ISSUER_TEXT = "按发函/拨测单位要求"

SUSPEND = "suspend_promotion"
WARNING = "warning"
MANUAL = "manual_per_issuer"

SUB_CHANNEL = "sub_channel"
BUSINESS = "business"
PARTNER = "partner"


@dataclass(frozen=True)
class ControlEvent:
    """One ``control_events`` row."""

    event_id: str
    partner_id: str
    business_id: str
    sub_channel_id: str | None
    event_type: str
    province: str | None
    event_date: dt.date
    issuer_requirement: str | None = None


@dataclass(frozen=True)
class ControlAction:
    """One ``control_actions`` row."""

    action_id: str
    partner_id: str
    month: dt.date
    business_id: str | None
    sub_channel_id: str | None
    target: str
    action: str
    scope: str
    start_date: dt.date
    end_date: dt.date | None
    source_event_id: str
    issuer_requirement: str | None
    clause: str
    reason: str


def _day(d: dt.date) -> str:
    return f"{d:%Y年%m月%d日}"


def _where(scope: str) -> str:
    return "全网" if scope == NATIONWIDE else f"当省（{scope}）"


def _scope(rule: ControlRule | None, province: str | None) -> str:
    if (rule is not None and rule.scope == "nationwide") or not province:
        return NATIONWIDE
    return province


def escalation_step(n: int, ladder: list[Escalation]) -> Escalation | None:
    """The step the n-th warning of a month triggers: ``nth == n``, or the last step if it repeats and n > nth."""
    for step in reversed(ladder):
        if n == step.nth or (step.repeats and n > step.nth):
            return step
    return None


def _row(
    ev: ControlEvent,
    *,
    target: str,
    action: str,
    scope: str,
    start: dt.date,
    end: dt.date | None,
    clause: str,
    reason: str,
    suffix: str = "",
    business: bool = True,
    sub_channel: bool = False,
    issuer_requirement: str | None = None,
) -> ControlAction:
    return ControlAction(
        action_id=f"{ev.event_id}:{target}:{action}{suffix}",
        partner_id=ev.partner_id,
        month=month_start(ev.event_date),
        business_id=ev.business_id if business else None,
        sub_channel_id=ev.sub_channel_id if sub_channel else None,
        target=target,
        action=action,
        scope=scope,
        start_date=start,
        end_date=end,
        source_event_id=ev.event_id,
        issuer_requirement=issuer_requirement,
        clause=clause,
        reason=reason,
    )


class _MonthCounters:
    """Warnings per (partner, business, month) and 附件3 controls per (partner, sub-channel, month)."""

    def __init__(self) -> None:
        self.warnings: Counter[tuple[str, str, dt.date]] = Counter()
        self.sub_channel: Counter[tuple[str, str, dt.date]] = Counter()

    def next_warning(self, ev: ControlEvent) -> int:
        key = (ev.partner_id, ev.business_id, month_start(ev.event_date))
        self.warnings[key] += 1
        return self.warnings[key]

    def next_sub_channel_control(self, ev: ControlEvent) -> int:
        key = (ev.partner_id, ev.sub_channel_id or "", month_start(ev.event_date))
        self.sub_channel[key] += 1
        return self.sub_channel[key]


def _manual(ev: ControlEvent, rule: ControlEventRule) -> ControlAction:
    scope = _scope(None, ev.province)
    text = (ev.issuer_requirement or "").strip()
    return _row(
        ev,
        target=BUSINESS,
        action=MANUAL,
        scope=scope,
        start=ev.event_date,
        end=None,
        clause=rule.issuer_clause_or_default(),
        sub_channel=True,
        issuer_requirement=text,
        reason=(
            f"{_day(ev.event_date)}{rule.label}（事件{ev.event_id}），发函/拨测单位有明确处罚要求，"
            f"对合作方{ev.partner_id}业务{ev.business_id}{ISSUER_TEXT}实施管控（{_where(scope)}，自{ev.event_date}起）："
            f"{text}；该事件不计入当月业务警告及子渠道管控次数。"
        ),
    )


def _sub_channel(ev: ControlEvent, rule: ControlEventRule, counters: _MonthCounters, extra: int) -> ControlAction:
    s_rule = rule.sub_channel
    assert s_rule is not None and s_rule.period is not None
    period, clause, note = s_rule.period, rule.clause, ""
    if rule.sub_channel_repeats:
        k = counters.next_sub_channel_control(ev)
        if k > 1:
            period = Period(months=s_rule.period.months + (k - 1) * extra)
            clause = ESCALATION_CLAUSE
            note = f"当月该子渠道第{k}次拨测/风控管控，关停时间增加{(k - 1) * extra}个月，"
    scope = _scope(s_rule, ev.province)
    start, end = period_window(ev.event_date, period)
    return _row(
        ev,
        target=SUB_CHANNEL,
        action=SUSPEND,
        scope=scope,
        start=start,
        end=end,
        clause=clause,
        sub_channel=True,
        reason=(
            f"{_day(ev.event_date)}{rule.label}（事件{ev.event_id}）：{note}对涉及子渠道{ev.sub_channel_id}"
            f"关停{_where(scope)}推广{period.describe()}（{start}至{end}）。"
        ),
    )


def _business_suspension(ev: ControlEvent, rule: ControlEventRule, b_rule: ControlRule) -> ControlAction:
    assert b_rule.period is not None
    scope = _scope(b_rule, ev.province)
    start, end = period_window(ev.event_date, b_rule.period)
    return _row(
        ev,
        target=BUSINESS,
        action=SUSPEND,
        scope=scope,
        start=start,
        end=end,
        clause=rule.clause,
        reason=(
            f"{_day(ev.event_date)}{rule.label}（事件{ev.event_id}）：对合作方{ev.partner_id}该业务{ev.business_id}"
            f"关停{_where(scope)}推广{b_rule.period.describe()}（{start}至{end}）。"
        ),
    )


def _warning(ev: ControlEvent, rule: ControlEventRule, scope_rule: ControlRule | None, n: int) -> ControlAction:
    scope = _scope(scope_rule, ev.province)
    return _row(
        ev,
        target=BUSINESS,
        action=WARNING,
        scope=scope,
        start=ev.event_date,
        end=None,
        clause=rule.clause,
        reason=(
            f"{_day(ev.event_date)}{rule.label}（事件{ev.event_id}）：对合作方{ev.partner_id}该业务{ev.business_id}"
            f"警告1次（{_where(scope)}），为该业务当月第{n}次警告。"
        ),
    )


def _escalation(ev: ControlEvent, rule: ControlEventRule, n: int, step: Escalation) -> ControlAction:
    start, end = period_window(ev.event_date, step.period)
    what = (
        f"关停该业务{ev.business_id}全网推广{step.period.describe()}"
        if step.target == BUSINESS
        else f"暂停合作方{ev.partner_id}全部业务全网推广{step.period.describe()}"
    )
    return _row(
        ev,
        target=step.target,
        action=SUSPEND,
        scope=NATIONWIDE,
        start=start,
        end=end,
        clause=ESCALATION_CLAUSE,
        suffix=f":esc{n}",
        business=step.target == BUSINESS,
        reason=(
            f"{_day(ev.event_date)}合作方{ev.partner_id}业务{ev.business_id}当月第{n}次警告"
            f"（{rule.label}，事件{ev.event_id}），按当月警告次数升级管控：{what}（{start}至{end}）。"
        ),
    )


def _warn(
    ev: ControlEvent,
    rule: ControlEventRule,
    scope_rule: ControlRule | None,
    counters: _MonthCounters,
    ladder: list[Escalation],
) -> list[ControlAction]:
    n = counters.next_warning(ev)
    rows = [_warning(ev, rule, scope_rule, n)]
    step = escalation_step(n, ladder)
    if step is not None:
        rows.append(_escalation(ev, rule, n, step))
    return rows


def control_actions(events: Iterable[ControlEvent], rules: ControlRules) -> list[ControlAction]:
    """The ``control_actions`` rows of ``events`` (any months; counts restart each calendar month).

    Events are processed in (event_date, event_id) order; an event's rows come in the order S, B, warning,
    escalation. An unknown ``event_type`` is an error naming the event.
    """
    counters = _MonthCounters()
    rows: list[ControlAction] = []
    for ev in sorted(events, key=lambda e: (e.event_date, e.event_id)):
        rule = rules.events.get(ev.event_type)
        if rule is None:
            raise ValueError(
                f"control event {ev.event_id}: event_type {ev.event_type!r} is not in the policy's control.events "
                f"({', '.join(sorted(rules.events))})"
            )
        if ev.issuer_requirement and ev.issuer_requirement.strip():
            rows.append(_manual(ev, rule))
            continue
        if rule.sub_channel is not None and ev.sub_channel_id:
            rows.append(_sub_channel(ev, rule, counters, rules.sub_channel_extra_months_per_repeat))
        b_rule = rule.business
        if b_rule is not None and b_rule.action == WARNING:
            rows.extend(_warn(ev, rule, b_rule, counters, rules.warning_escalation))
        elif b_rule is not None:
            rows.append(_business_suspension(ev, rule, b_rule))
        if rule.warning:
            rows.extend(_warn(ev, rule, b_rule, counters, rules.warning_escalation))
    return rows
