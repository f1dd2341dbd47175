"""Settlement (第四条, 第十五条, 第十九条, 第二十四条): revenue share, negative balances, holds, the clearing period.

Money is :class:`~decimal.Decimal` throughout; nothing passes through a float.

- **Share (第四条)**: each item's share is ``round2(info_fee × share_ratio)`` half-up (0.005 → 0.01, 2.675 → 2.68),
  and the partner's share is the sum of the rounded item shares.
- **Netting and negative balances (第十五条 负结算)**: per partner and month, across all its businesses,
  ``net = partner_share − deductions + carried_in``; ``net < 0`` → nothing payable and ``carried_out = net`` is
  offset next month (``carried_in`` of month m is the ``carried_out`` of month m−1); else ``payable = net``.
  :func:`running_balances` runs this recurrence from the partner's first month with items, so any month depends
  only on the source items, never on previously stored settlements.
- **Status**: ``stopped`` from the month of the partner's first major violation on (第十九条); else ``held`` when the
  month's own credit grade is in ``held_grades`` (第十条: E/F/TERMINATED 暂停合作伙伴费用结算), when a payment hold
  overlaps any day of the month (第十五条 联动止付), or when the partner's cooperation has ended and the month has
  phone-bill items and overlaps the clearing period ``(end_date, end_date + 9 months]`` (第二十四条 清算期); else
  ``payable``. Held and stopped amounts stay visible: ``payable`` is what would be paid, not what is paid.
  ``clause`` names the deciding rule; ``reason`` lists every rule that applies.

"Cooperation ended" (:func:`cooperation_end`), as of a month m: take the partner's latest contract (greatest
``end_date``, then ``contract_id``) among those started by the end of m. Its renewal decision is its latest
``renewal_decisions`` row other than ``abandoned`` (第二十五条 concerns an unsigned contract, not the end of a running
one). ``not_renewed`` / ``terminated`` / ``partner_exit`` → ended on ``end_date``; ``renew`` → not ended. With no
decision row the cooperation counts as ended once ``end_date`` has passed (before the month's last day) — no
successor contract has started and no renewal is recorded, so the phone-bill money is held rather than paid early;
the reason says the decision was missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from migu_assets.policy import SettlementRules
from migu_assets.rules.numbers import round2
from migu_assets.rules.periods import add_months, month_end, month_start, next_month
from migu_assets.vocabulary import (
    ABANDONED,
    DECISION_NAMES,
    DECISION_TERMINATED,
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
    (it still gets a row, ``carried_in`` ≠ 0); a month without items and without a carry gets none.
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
class Violation:
    violation_id: str
    occurred_on: dt.date
    violation_type: int


@dataclass(frozen=True)
class Hold:
    start_date: dt.date
    end_date: dt.date | None
    reason: str


@dataclass(frozen=True)
class Contract:
    contract_id: str
    start_date: dt.date
    end_date: dt.date


@dataclass(frozen=True)
class Decision:
    month: dt.date
    decision: str


@dataclass(frozen=True)
class CooperationEnd:
    """The partner's cooperation ended on ``end_date`` (its last contract's end); ``decision`` None = no row."""

    contract_id: str
    end_date: dt.date
    decision: str | None


def hold_overlaps(hold: Hold, month: dt.date) -> bool:
    """A hold overlaps the month when it covers any of its days (``end_date`` inclusive, None = open)."""
    return hold.start_date <= month_end(month) and (hold.end_date is None or hold.end_date >= month_start(month))


def cooperation_end(
    month: dt.date, contracts: Iterable[Contract], decisions: Mapping[str, Sequence[Decision]]
) -> CooperationEnd | None:
    """Whether, as of ``month``, the partner's cooperation has ended, and on which day (see the module doc)."""
    started = [c for c in contracts if c.start_date <= month_end(month)]
    if not started:
        return None
    last = max(started, key=lambda c: (c.end_date, c.contract_id))
    relevant = [d for d in decisions.get(last.contract_id, ()) if d.decision not in IGNORED_DECISIONS]
    if relevant:
        decided = max(relevant, key=lambda d: d.month).decision
        return CooperationEnd(last.contract_id, last.end_date, decided) if decided in ENDING_DECISIONS else None
    if last.end_date < month_end(month):
        return CooperationEnd(last.contract_id, last.end_date, None)
    return None


def clearing_window(end_date: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """``(first day, last day)`` of the clearing period ``(end_date, end_date + months]`` (第二十四条)."""
    return end_date + dt.timedelta(days=1), add_months(end_date, months)


def in_clearing_period(month: dt.date, end: CooperationEnd, months: int) -> bool:
    first, last = clearing_window(end.end_date, months)
    return first <= last and first <= month_end(month) and last >= month_start(month)


# ---------------------------------------------------------------- status (第十条, 第十五条, 第十九条, 第二十四条)
@dataclass(frozen=True)
class Status:
    status: str
    clause: str
    findings: tuple[str, ...]  # one Chinese sentence per rule that applies, the deciding one first


def settlement_status(
    month: dt.date,
    *,
    has_phone_bill: bool,
    violation: Violation | None,
    grade: str | None,
    holds: Iterable[Hold],
    ended: CooperationEnd | None,
    rules: SettlementRules,
) -> Status:
    """Status of one partner-month; every applicable rule is listed, the most severe decides."""
    found: list[tuple[str, str, str]] = []  # (status, clause, sentence)
    if violation is not None and month_start(violation.occurred_on) <= month:
        found.append(
            (
                STOPPED,
                CLAUSE_STOPPED,
                f"{violation.occurred_on}发生重大违规（附件8第{violation.violation_type}项，{violation.violation_id}），"
                f"自{violation.occurred_on:%Y年%m月}起停止业务结算（第十九条）",
            )
        )
    if grade is not None and grade in rules.held_grades:
        found.append((HELD, f"{CLAUSE_GRADE}/{grade}", f"当月信用评级为{grade}，暂停合作伙伴费用结算（第十条）"))
    for h in sorted(holds, key=lambda h: h.start_date):
        if hold_overlaps(h, month):
            until = f"{h.end_date}" if h.end_date else "未解除"
            found.append(
                (HELD, CLAUSE_HOLD, f"处于联动止付状态（{h.start_date}至{until}，{h.reason}），暂停结算（第十五条）")
            )
    if ended is not None and has_phone_bill and in_clearing_period(month, ended, rules.clearing_months):
        first, last = clearing_window(ended.end_date, rules.clearing_months)
        how = (
            f"续约决定为{DECISION_NAMES.get(ended.decision, ended.decision)}"
            if ended.decision
            else "未见续约决定且无后续合同"
        )
        found.append(
            (
                HELD,
                CLAUSE_CLEARING,
                f"合作已于{ended.end_date}结束（合同{ended.contract_id}，{how}），当月含话费支付结算，"
                f"处于{rules.clearing_months}个月清算期（{first}至{last}），未支付结算款暂停支付（第二十四条）",
            )
        )
    if not found:
        return Status(PAYABLE, CLAUSE_PAYABLE, ())
    status, clause, _ = found[0]
    return Status(status, clause, tuple(s for _, _, s in found))


def describe_amounts(b: Balance) -> str:
    """The month's arithmetic in one Chinese sentence."""
    text = (
        f"信息费{b.gross}元，按分成比例逐笔计算分成{b.partner_share}元（第四条），核减{b.deductions}元"
        f"{f'，上月结转负结算{b.carried_in}元' if b.carried_in else ''}，净额{b.net}元"
    )
    if b.carried_out < 0:
        return text + f"，当月结算款不足抵扣，应付0元，负结算{b.carried_out}元结转下月抵扣（第十五条）"
    return text + f"，应付{b.payable}元"


def reason(b: Balance, status: Status) -> str:
    """``reason``: the status (every rule that applies) and the arithmetic."""
    amounts = describe_amounts(b)
    if status.status == PAYABLE:
        return f"{amounts}。"
    label = "停止结算" if status.status == STOPPED else "暂缓支付"
    return f"{label}：{'；'.join(status.findings)}。{amounts}（仅作记录，本月不支付）。"
