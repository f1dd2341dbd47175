"""Settlement (第四条, 第十条, 第十五条, 第十九条, 第二十四条; SPEC v2 §7): revenue share, negative balances, holds,
the clearing period and the ledger of withheld money.

Money is :class:`~decimal.Decimal` throughout; nothing passes through a float.

- **Share (第四条)**: each item's share is ``round2(info_fee × share_ratio)`` half-up (0.005 → 0.01, 2.675 → 2.68),
  and the partner's share is the sum of the rounded item shares.
- **Netting and negative balances (第十五条 负结算)**: per partner and month, across all its businesses,
  ``net = partner_share − deductions + carried_in``; ``net < 0`` → nothing payable and ``carried_out = net`` is
  offset next month (``carried_in`` of month m is the ``carried_out`` of month m−1); else ``payable = net``.
- **Status** (:func:`settlement_status`): ``stopped`` from the month of the partner's first major violation with
  ``bad_credit_list = false`` (第十九条 "否则…从当月起停止对其的业务结算"); else ``held`` when the month's own credit
  grade is in ``held_grades`` (第十条 E/F/TERMINATED 暂停合作伙伴费用结算) and the cooperation had not ended before
  the month began (第十条注: the hold lapses once cooperation has ended), when a payment hold overlaps any day of
  the month (第十五条 联动止付), or when the month overlaps the clearing period ``(ended, ended + 9 months]`` of a
  cooperation that involved phone-bill payment (第二十四条 清算期 — every month, with or without items); else
  ``payable``. ``clause`` names the deciding rule; ``reason`` lists every rule that applies.
- **Ledger** (:func:`ledger`): ``held_in`` = last month's ``held_balance``; ``withheld`` = ``payable`` of a held or
  stopped month; a payable month releases everything held (``released = held_in``), except the release month of
  a clearing period, which first deducts the partner's ``exit_deductions`` (``exit_deducted = min(held_in, Σ)``;
  the rest of a larger deduction is added to ``carried_out`` as 负结算, recovered from later settlements, 第十五条);
  ``paid = payable − withheld + released``; ``held_balance = held_in + withheld − released − exit_deducted``. A
  stopped partner's balance is never released. A month superseded by a later result (第十四条) keeps its own row:
  the superseding month's row, when payable, releases what was withheld.

**How a month reads what came before it.** :func:`ledger` runs the whole recurrence — carry, status, balance —
from the partner's first month with items up to the month asked for, every time, from the facts passed in (source
tables and the upstream ``credit_grades`` / ``renewal_decisions`` rows of those months); it never reads a stored
``settlements`` row. So a month recomputed alone, months computed in any order and one backfill give the same rows.
Each month uses only facts dated on or before its own last day (violations, holds, decisions, deductions), so no
row depends on a later month.

"Cooperation ended" (:func:`cooperation_end`), as of a month m, is the earlier of:

- the partner's latest contract started by the end of m (greatest ``end_date``, then ``contract_id``): its latest
  ``renewal_decisions`` row of a month ≤ m other than ``abandoned`` (第二十五条 concerns an unsigned contract, not
  the end of a running one). ``not_renewed`` / ``terminated`` / ``partner_exit`` → ended on ``end_date``;
  ``renew`` → not ended. With no decision row the cooperation counts as ended once ``end_date`` has passed
  (before the month's last day) — the phone-bill money is held rather than paid early; the reason says so;
- the ``occurred_on`` of the first major violation with ``bad_credit_list = true`` by the end of m (terminated
  under 第十二条/第二十条, handled under 《合作伙伴不良信用名单管理办法》, 第十九条).

The clearing period applies when the ended cooperation involved phone-bill payment
(:func:`phone_bill_involved`): a ``phone_bill`` item in a month of the ended contract's term (up to the end), or,
without a contract, in any month up to the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from migu_assets.policy import SettlementRules
from migu_assets.rules.facts import Contract, Violation, of_cooperation  # noqa: F401 (Contract re-exported)
from migu_assets.rules.numbers import round2
from migu_assets.rules.periods import add_months, month_end, month_start, next_month
from migu_assets.vocabulary import (
    ABANDONED,
    DECISION_NAMES,
    DECISION_TERMINATED,
    EXIT_DEDUCTION_KINDS,
    HELD,
    NOT_RENEWED,
    PARTNER_EXIT,
    PAYABLE,
    RENEW,
    STOPPED,
)

ZERO = Decimal("0.00")


CLAUSE_PAYABLE = "第四条"
CLAUSE_STOPPED = "第十九条"
CLAUSE_GRADE = "第十条"
CLAUSE_HOLD = "第十五条/联动止付"
CLAUSE_CLEARING = "第二十四条/清算期"
CLAUSE_LAPSED = "第十条注"

BAD_CREDIT_LIST_RULES = "《咪咕文化科技有限公司合作伙伴不良信用名单管理办法》"

ENDING_DECISIONS = frozenset({NOT_RENEWED, DECISION_TERMINATED, PARTNER_EXIT})
CONTINUING_DECISIONS = frozenset({RENEW})
IGNORED_DECISIONS = frozenset({ABANDONED})


# ---------------------------------------------------------------- amounts (第四条, 第十五条)
def item_share(info_fee: Decimal, share_ratio: Decimal) -> Decimal:
    """One item's partner share: ``info_fee × share_ratio`` rounded half-up to the cent (第四条)."""
    return round2(Decimal(info_fee) * Decimal(share_ratio))


@dataclass(frozen=True)
class MonthAmounts:
    """One partner's items of one month, summed across businesses (share already rounded per item)."""

    gross: Decimal = ZERO
    partner_share: Decimal = ZERO
    deductions: Decimal = ZERO
    has_phone_bill: bool = False


@dataclass(frozen=True)
class Balance:
    month: dt.date
    gross: Decimal
    partner_share: Decimal
    deductions: Decimal
    carried_in: Decimal
    net: Decimal
    payable: Decimal
    carried_out: Decimal
    has_phone_bill: bool


def balance(month: dt.date, amounts: MonthAmounts, carried_in: Decimal) -> Balance:
    """``net = partner_share − deductions + carried_in``; a negative net is carried out, else it is payable."""
    net = amounts.partner_share - amounts.deductions + carried_in
    payable, carried_out = (ZERO, net) if net < 0 else (net, ZERO)
    return Balance(
        month=month,
        gross=amounts.gross,
        partner_share=amounts.partner_share,
        deductions=amounts.deductions,
        carried_in=carried_in,
        net=net,
        payable=payable,
        carried_out=carried_out,
        has_phone_bill=amounts.has_phone_bill,
    )


def running_balances(amounts_by_month: Mapping[dt.date, MonthAmounts], through: dt.date) -> list[Balance]:
    """Balances of every month from the first month with amounts to ``through`` that has items or a carry.

    The recurrence runs over calendar months: a month without items passes a negative balance on unchanged
    (it still gets a row, ``carried_in`` ≠ 0); a month without items and without a carry gets none. (The carry
    alone; :func:`ledger` runs the same recurrence together with the status and the held balance.)
    """
    if not amounts_by_month:
        return []
    month, last = month_start(min(amounts_by_month)), month_start(through)
    out: list[Balance] = []
    carried = ZERO
    while month <= last:
        amounts = amounts_by_month.get(month)
        if amounts is not None or carried != 0:
            b = balance(month, amounts or MonthAmounts(), carried)
            out.append(b)
            carried = b.carried_out
        month = next_month(month)
    return out


# ---------------------------------------------------------------- facts the status reads
@dataclass(frozen=True)
class Hold:
    start_date: dt.date
    end_date: dt.date | None
    reason: str


@dataclass(frozen=True)
class Decision:
    month: dt.date
    decision: str


@dataclass(frozen=True)
class CooperationEnd:
    """The partner's cooperation ended on ``end_date``.

    Ended by its last contract: ``contract_id`` and ``decision`` (None = no decision row). Ended by a major
    violation with ``bad_credit_list = true``: ``violation_id`` is set, ``end_date`` is its ``occurred_on`` and
    ``contract_id`` names the contract then running (None without one).
    """

    contract_id: str | None
    end_date: dt.date
    decision: str | None
    violation_id: str | None = None


@dataclass(frozen=True)
class ExitDeduction:
    """An ``exit_deductions`` row: what the partner owes at exit (违约金, 稽核核减, 欠费…; 第二十四条)."""

    deduction_id: str
    kind: str
    amount: Decimal
    recorded_on: dt.date


def hold_overlaps(hold: Hold, month: dt.date) -> bool:
    """A hold overlaps the month when it covers any of its days (``end_date`` inclusive, None = open)."""
    return hold.start_date <= month_end(month) and (hold.end_date is None or hold.end_date >= month_start(month))


def _latest_started(month: dt.date, contracts: Iterable[Contract]) -> Contract | None:
    started = [c for c in contracts if c.start_date <= month_end(month)]
    return max(started, key=lambda c: (c.end_date, c.contract_id)) if started else None


def _contract_end(
    month: dt.date, last: Contract | None, decisions: Mapping[str, Sequence[Decision]]
) -> CooperationEnd | None:
    if last is None:
        return None
    known = [
        d
        for d in decisions.get(last.contract_id, ())
        if d.decision not in IGNORED_DECISIONS and month_start(d.month) <= month_start(month)
    ]
    if known:
        decided = max(known, key=lambda d: d.month).decision
        return CooperationEnd(last.contract_id, last.end_date, decided) if decided in ENDING_DECISIONS else None
    if last.end_date < month_end(month):
        return CooperationEnd(last.contract_id, last.end_date, None)
    return None


def cooperation_end(
    month: dt.date,
    contracts: Iterable[Contract],
    decisions: Mapping[str, Sequence[Decision]],
    *,
    violations: Iterable[Violation] = (),
) -> CooperationEnd | None:
    """Whether, as of ``month``, the partner's cooperation has ended, and on which day (see the module doc).

    ``violations``: the partner's major violations; only those with ``bad_credit_list = true`` occurring by the end
    of ``month``, and not before the start of the latest contract started by then (that would be an earlier
    cooperation, before a re-entry), end the cooperation (on ``occurred_on``). When both a contract end and such a
    violation apply, the earlier day wins (on the same day the violation, which names the cause). Without
    ``violations`` this is the contract-based end alone, as before SPEC v2.
    """
    contracts = list(contracts)
    last = _latest_started(month, contracts)
    by_contract = _contract_end(month, last, decisions)
    # a violation before the start of the latest started contract belongs to an earlier cooperation (re-entry)
    since = last.start_date if last is not None else dt.date.min
    listed = sorted(
        (v for v in violations if v.bad_credit_list and since <= v.occurred_on <= month_end(month)),
        key=lambda v: (v.occurred_on, v.violation_id),
    )
    if not listed:
        return by_contract
    first = listed[0]
    if by_contract is not None and by_contract.end_date < first.occurred_on:
        return by_contract
    running = _latest_started(
        month_start(first.occurred_on), [c for c in contracts if c.start_date <= first.occurred_on]
    )
    return CooperationEnd(
        running.contract_id if running else None, first.occurred_on, TERMINATED_DECISION, first.violation_id
    )


TERMINATED_DECISION = "terminated"


def clearing_window(end_date: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """``(first day, last day)`` of the clearing period ``(end_date, end_date + months]`` (第二十四条)."""
    return end_date + dt.timedelta(days=1), add_months(end_date, months)


def in_clearing_period(month: dt.date, end: CooperationEnd, months: int) -> bool:
    first, last = clearing_window(end.end_date, months)
    return first <= last and first <= month_end(month) and last >= month_start(month)


def release_month(end: CooperationEnd, months: int, involved: bool) -> dt.date:
    """The first month after the clearing window (with phone-bill payment) or after the month of the end
    (without one, there is no window): from then on the exit deductions are applied (第二十四条)."""
    last = clearing_window(end.end_date, months)[1] if involved else end.end_date
    return next_month(month_start(last))


def phone_bill_involved(end: CooperationEnd, contracts: Iterable[Contract], phone_months: Iterable[dt.date]) -> bool:
    """Whether the ended cooperation involved phone-bill payment (第二十四条 "若合作涉及话费支付"): a ``phone_bill``
    item in a month of the ended contract's term up to the end day, or, without a contract, in any month up to it."""
    contract = next((c for c in contracts if c.contract_id == end.contract_id), None)
    last = month_start(end.end_date)
    first = month_start(contract.start_date) if contract is not None else dt.date.min
    return any(first <= month_start(m) <= last for m in phone_months)


def cooperation_text(end: CooperationEnd) -> str:
    """How the cooperation ended, in Chinese."""
    if end.violation_id is not None:
        return f"合作因重大违规{end.violation_id}于{end.end_date}终止（第十九条，按{BAD_CREDIT_LIST_RULES}认定）"
    how = f"续约决定为{DECISION_NAMES.get(end.decision, end.decision)}" if end.decision else "未见续约决定且无后续合同"
    return f"合作已于{end.end_date}结束（合同{end.contract_id}，{how}）"


# ---------------------------------------------------------------- status (第十条, 第十五条, 第十九条, 第二十四条)
@dataclass(frozen=True)
class Status:
    status: str
    clause: str
    findings: tuple[str, ...]  # one Chinese sentence per rule that applies, the deciding one first
    notes: tuple[str, ...] = ()  # rules that would apply but do not (第十条注 lapse), for the reason


def grade_text(grade: str) -> str:
    """A grade as staff read it: TERMINATED is 得分≤0 (终止合作)."""
    return "终止（得分≤0）" if grade == "TERMINATED" else grade


def stopping_violation(violations: Iterable[Violation]) -> Violation | None:
    """The first major violation with ``bad_credit_list = false``: settlement stops from its month (第十九条)."""
    plain = sorted((v for v in violations if not v.bad_credit_list), key=lambda v: (v.occurred_on, v.violation_id))
    return plain[0] if plain else None


def settlement_status(
    month: dt.date,
    *,
    violation: Violation | None,
    grade: str | None,
    holds: Iterable[Hold],
    ended: CooperationEnd | None,
    rules: SettlementRules,
    phone_bill: bool = False,
) -> Status:
    """Status of one partner-month; every applicable rule is listed, the most severe decides.

    ``violation``: the partner's stopping violation (a ``bad_credit_list = true`` one never stops: 第十九条 hands it
    to the 不良信用名单 regime, and it ends the cooperation instead — pass it in ``ended``). ``grade``: the month's
    own grade. ``ended``: :func:`cooperation_end` as of the month. ``phone_bill``: whether the ended cooperation
    involved phone-bill payment (:func:`phone_bill_involved`), which makes the clearing period apply.
    """
    found: list[tuple[str, str, str]] = []  # (status, clause, sentence)
    notes: list[str] = []
    if violation is not None and not violation.bad_credit_list and month_start(violation.occurred_on) <= month:
        found.append(
            (
                STOPPED,
                CLAUSE_STOPPED,
                f"{violation.occurred_on}发生重大违规（附件8第{violation.violation_type}项，{violation.violation_id}），"
                f"不属不良信用名单认定情形，直接终止合作，自{violation.occurred_on:%Y年%m月}起停止业务结算（第十九条）",
            )
        )
    if grade is not None and grade in rules.held_grades:
        if ended is not None and ended.end_date < month_start(month):
            notes.append(
                f"{month:%Y年%m月}评级{grade_text(grade)}，但合作已于{ended.end_date}结束，“暂停费用结算”措施相应结束（第十条注）"
            )
        else:
            found.append(
                (HELD, f"{CLAUSE_GRADE}/{grade}", f"{month:%Y年%m月}评级{grade_text(grade)}，暂停结算（第十条）")
            )
    for h in sorted(holds, key=lambda h: h.start_date):
        if hold_overlaps(h, month):
            until = f"{h.end_date}" if h.end_date else "未解除"
            found.append(
                (HELD, CLAUSE_HOLD, f"处于联动止付状态（{h.start_date}至{until}，{h.reason}），暂停结算（第十五条）")
            )
    if ended is not None and phone_bill and in_clearing_period(month, ended, rules.clearing_months):
        first, last = clearing_window(ended.end_date, rules.clearing_months)
        found.append(
            (
                HELD,
                CLAUSE_CLEARING,
                f"{cooperation_text(ended)}，合作涉及话费支付，处于{rules.clearing_months}个月清算期"
                f"（{first}至{last}），未支付结算款暂停支付（第二十四条）",
            )
        )
    if not found:
        return Status(PAYABLE, CLAUSE_PAYABLE, (), tuple(notes))
    status, clause, _ = found[0]
    return Status(status, clause, tuple(s for _, _, s in found), tuple(notes))


def yuan(value: Decimal) -> str:
    """Money as staff read it: thousands separators, two decimals (12345.6 → 12,345.60)."""
    return f"{Decimal(value):,.2f}"


def describe_amounts(b: Balance) -> str:
    """The month's arithmetic in one Chinese sentence."""
    text = (
        f"信息费{yuan(b.gross)}元，按分成比例逐笔计算分成{yuan(b.partner_share)}元（第四条），"
        f"核减{yuan(b.deductions)}元"
        f"{f'，上月结转负结算{yuan(b.carried_in)}元' if b.carried_in else ''}，净额{yuan(b.net)}元"
    )
    if b.net < 0:
        return text + f"，当月结算款不足抵扣，应付0元，负结算{yuan(b.net)}元结转下月抵扣（第十五条）"
    return text + f"，应付{yuan(b.payable)}元"


def reason(b: Balance, status: Status) -> str:
    """The status (every rule that applies) and the arithmetic, without the ledger."""
    amounts = describe_amounts(b)
    notes = "；".join(status.notes)
    if status.status == PAYABLE:
        return f"{notes + '。' if notes else ''}{amounts}。"
    label = "停止结算" if status.status == STOPPED else "暂缓支付"
    findings = "；".join(status.findings + status.notes)
    return f"{label}：{findings}。{amounts}（仅作记录，本月不支付）。"


# ---------------------------------------------------------------- the ledger (SPEC v2 §7)
@dataclass(frozen=True)
class PartnerFacts:
    """Everything one partner's ledger reads, for every month up to the last one asked for.

    ``grades``: month → the month's own grade (credit_grades). ``superseded_by``: month → the later month whose
    result superseded it (credit_grades.supersedes_month, 第十四条) — used for the reason only. ``decisions``:
    contract → its renewal decision rows.
    """

    amounts: Mapping[dt.date, MonthAmounts]
    violations: Sequence[Violation] = ()
    grades: Mapping[dt.date, str] = field(default_factory=dict)
    superseded_by: Mapping[dt.date, dt.date] = field(default_factory=dict)
    holds: Sequence[Hold] = ()
    contracts: Sequence[Contract] = ()
    decisions: Mapping[str, Sequence[Decision]] = field(default_factory=dict)
    exit_deductions: Sequence[ExitDeduction] = ()


@dataclass(frozen=True)
class Withholding:
    """One month's withheld amount still part of the held balance (for the reason)."""

    month: dt.date
    amount: Decimal
    clause: str


@dataclass(frozen=True)
class LedgerEntry:
    """One partner-month of ``settlements``: the balance, the status and the ledger columns."""

    balance: Balance  # carried_out includes the part of an exit deduction larger than held_in
    status: Status
    held_in: Decimal
    withheld: Decimal
    released: Decimal
    exit_deducted: Decimal
    paid: Decimal
    held_balance: Decimal
    deductions_applied: tuple[ExitDeduction, ...] = ()
    excess_deduction: Decimal = ZERO  # Σ deductions applied − exit_deducted, carried out as 负结算
    released_months: tuple[Withholding, ...] = ()
    held_months: tuple[Withholding, ...] = ()  # what the held balance is made of, oldest first
    superseded_by: Mapping[dt.date, dt.date] = field(default_factory=dict)
    ended: CooperationEnd | None = None


def _month_grade(month: dt.date, facts: PartnerFacts) -> str | None:
    """The month's own grade. A major violation occurring in the month makes it TERMINATED (第十二条: credit set to
    0), read from the violation itself so that this month does not wait for credit_grades to be recomputed."""
    if any(month_start(v.occurred_on) == month for v in facts.violations):
        return "TERMINATED"
    return facts.grades.get(month)


def ledger(facts: PartnerFacts, through: dt.date, rules_for: Callable[[dt.date], SettlementRules]) -> list[LedgerEntry]:
    """Every row of one partner from its first month with items up to ``through`` (see the module doc).

    A row exists for a month with items, a non-zero ``carried_in``, a non-zero ``held_in``, or exit deductions
    applied. ``rules_for(month)``: the settlement rules of the policy in force that month.
    """
    if not facts.amounts:
        return []
    phone_months = [m for m, a in facts.amounts.items() if a.has_phone_bill]
    month, last = month_start(min(facts.amounts)), month_start(through)
    carried, held, frozen = ZERO, ZERO, ZERO  # frozen: money stopped under 第十九条, part of held, never released
    composition: list[Withholding] = []
    settled_ends: set[tuple[str | None, dt.date]] = set()
    applied_ids: set[str] = set()
    out: list[LedgerEntry] = []
    while month <= last:
        rules = rules_for(month)
        amounts = facts.amounts.get(month)
        ended = cooperation_end(month, facts.contracts, facts.decisions, violations=facts.violations)
        current = _latest_started(month, facts.contracts)  # re-entry (SPEC v2 §4.3): the current cooperation's
        stop = stopping_violation(of_cooperation(facts.violations, current.start_date if current else None))
        involved = ended is not None and phone_bill_involved(ended, facts.contracts, phone_months)
        status = settlement_status(
            month,
            violation=stop,
            grade=_month_grade(month, facts),
            holds=facts.holds,
            ended=ended,
            rules=rules,
            phone_bill=involved,
        )
        b = balance(month, amounts or MonthAmounts(), carried)
        held_in = held
        withheld = b.payable if status.status in (HELD, STOPPED) else ZERO
        released = exit_deducted = excess = ZERO
        applied: tuple[ExitDeduction, ...] = ()
        released_months: tuple[Withholding, ...] = ()
        if status.status == PAYABLE:
            key = (ended.contract_id, ended.end_date) if ended is not None else None
            if (
                ended is not None
                and key not in settled_ends
                and month >= release_month(ended, rules.clearing_months, involved)
            ):
                settled_ends.add(key)
                applied = tuple(
                    d
                    for d in sorted(facts.exit_deductions, key=lambda d: (d.recorded_on, d.deduction_id))
                    if d.deduction_id not in applied_ids and d.recorded_on <= month_end(month)
                )
                applied_ids.update(d.deduction_id for d in applied)
                total = sum((d.amount for d in applied), ZERO)
                exit_deducted = min(held_in - frozen, total)
                excess = total - exit_deducted
            released = held_in - frozen - exit_deducted
            if held_in - frozen:
                released_months = tuple(w for w in composition if w.clause != CLAUSE_STOPPED)
                composition = [w for w in composition if w.clause == CLAUSE_STOPPED]
            if excess:
                b = replace(b, carried_out=b.carried_out - excess)
        if withheld:
            composition.append(Withholding(month, withheld, status.clause))
            if status.status == STOPPED:
                frozen += withheld
        paid = b.payable - withheld + released
        held_balance = held_in + withheld - released - exit_deducted
        if amounts is not None or carried != 0 or held_in != 0 or applied:
            out.append(
                LedgerEntry(
                    balance=b,
                    status=status,
                    held_in=held_in,
                    withheld=withheld,
                    released=released,
                    exit_deducted=exit_deducted,
                    paid=paid,
                    held_balance=held_balance,
                    deductions_applied=applied,
                    excess_deduction=excess,
                    released_months=released_months,
                    held_months=tuple(composition),
                    superseded_by=facts.superseded_by,
                    ended=ended,
                )
            )
        carried, held = b.carried_out, held_balance
        month = next_month(month)
    return out


def _months_text(parts: Sequence[Withholding], superseded_by: Mapping[dt.date, dt.date], upto: dt.date) -> str:
    items = []
    for w in parts:
        text = f"{w.month:%Y年%m月}{yuan(w.amount)}元（{w.clause}）"
        later = superseded_by.get(w.month)
        if later is not None and later <= upto:
            text += f"，该月结果已被{later:%Y年%m月}的结果取代（第十四条），由本月释放"
        items.append(text)
    return "、".join(items)


def ledger_text(e: LedgerEntry) -> str:
    """The ledger in Chinese: withheld, released, deducted at exit, paid, and the balance still held."""
    parts: list[str] = []
    if e.status.status == STOPPED:
        parts.append(f"本月应付{yuan(e.balance.payable)}元停止结算、不予支付（第十九条）")
    elif e.withheld:
        parts.append(f"本月应付{yuan(e.withheld)}元暂扣")
    if e.deductions_applied or (e.ended is not None and e.exit_deducted):
        total = e.exit_deducted + e.excess_deduction
        items = "、".join(
            f"{EXIT_DEDUCTION_KINDS.get(d.kind, d.kind)}{yuan(d.amount)}元（{d.deduction_id}，{d.recorded_on}记录）"
            for d in e.deductions_applied
        )
        text = (
            f"清算期满，扣除退出扣款共{yuan(total)}元（{items}），"
            f"其中从暂扣款扣除{yuan(e.exit_deducted)}元（第二十四条）"
        )
        if e.excess_deduction:
            text += f"，超出暂扣余额的{yuan(e.excess_deduction)}元计入负结算结转下月，从其他结算款中追回（第十五条）"
        parts.append(text)
    if e.released:
        what = _months_text(e.released_months, e.superseded_by, e.balance.month)
        parts.append(f"释放此前暂扣款{yuan(e.released)}元（{what}）")
    if e.status.status == PAYABLE or e.paid:
        parts.append(f"本月实付{yuan(e.paid)}元")
    if e.held_balance:
        since = e.held_months[0].month if e.held_months else e.balance.month
        never = "，停止结算的款项不予释放" if e.status.status == STOPPED else ""
        parts.append(f"累计暂扣{yuan(e.held_balance)}元（自{since:%Y年%m月}起）{never}")
    return "；".join(parts)


def entry_reason(e: LedgerEntry) -> str:
    """``reason`` of a ledger row: the status with every rule that applies, the ledger, then the arithmetic."""
    s, b = e.status, e.balance
    text = ledger_text(e)
    if s.status == PAYABLE:
        notes = "；".join(s.notes)
        lead = "；".join(p for p in (notes, text) if p)
        return f"{lead}。{describe_amounts(b)}。"
    label = "停止结算" if s.status == STOPPED else "暂缓支付"
    return f"{label}：{'；'.join(s.findings + s.notes)}；{text}。{describe_amounts(b)}。"
