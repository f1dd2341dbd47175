"""Renewal review and exit (第八章 续约及退出, 第十六至二十五条; SPEC §8).

Month m reviews every contract whose ``end_date`` falls in month m + ``lead_months`` with the data known up to the
end of m. The rules are checked in order; the first that matches decides, and every rule that matches gets one
line in ``reasons`` naming its article:

1. partner terminated → ``terminated``: by a major violation (第十九条, re-entry banned 2 years from
   ``occurred_on``; with ``bad_credit_list = true`` the 不良信用名单 branch — no ban from this policy, the reason
   names 《合作伙伴不良信用名单管理办法》), or by a credit score ≤ 0 without one (第二十条, no ban);
2. rights not delivered (第十七条) → ``not_renewed``, banned 1 year from ``end_date``;
3. product not launched through the partner's fault (第十八条) → ``not_renewed``;
4. each of the last 6 monthly credit scores (m−5..m) below 450 (第二十条) → ``not_renewed``, banned 1 year from
   ``end_date`` — a partner without a score in each of those months is never refused under this rule;
5. qualification no longer met (第二十二条) → ``not_renewed``;
6. exit requested (第二十一条) → ``partner_exit``, ``late_notice`` when requested after ``end_date`` − 1 month
   (− 2 months for a product on the network-wide rights platform);
7. otherwise → ``renew`` (第二十三条).

Bans follow the period rule of SPEC §3: the anchor day is not counted and ``reentry_banned_until`` is the last
banned day, ``anchor + N years`` in calendar months (2024-02-29 + 2 years = 2026-02-28). When several matching
rules carry a ban the row keeps the latest last day, so no ban is shortened by a rule that decides earlier.

第二十五条: a contract decided on ``decision_on`` and not signed by ``decision_on + 6 months`` (the last day
counts; never signed, or signed later) is 视为主动放弃 — an ``abandoned`` row in the month containing that day.

Pure functions: no database, no Dagster; every number comes from :class:`~migu_assets.policy.RenewalRules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from migu_assets.policy import RenewalRules
from migu_assets.rules.facts import Contract, Violation, of_cooperation  # noqa: F401 (Contract re-exported)
from migu_assets.rules.periods import add_months, month_start
from migu_assets.vocabulary import (  # noqa: F401 (re-exported decision codes)
    ABANDONED,
    DECISION_NAMES,
    DECISION_TERMINATED,
    NOT_RENEWED,
    PARTNER_EXIT,
    RENEW,
)

TERMINATED = DECISION_TERMINATED

ART_RIGHTS = "第十七条"
ART_LAUNCH = "第十八条"
ART_VIOLATION = "第十九条"
ART_CREDIT = "第二十条"
ART_EXIT = "第二十一条"
ART_QUALIFICATION = "第二十二条"
ART_RENEW = "第二十三条"
ART_ABANDON = "第二十五条"
BAD_CREDIT_LIST_RULES = "《咪咕文化科技有限公司合作伙伴不良信用名单管理办法》"


@dataclass(frozen=True)
class PartnerRecord:
    """What is known about a partner at the end of the reviewed month m (nothing later)."""

    partner_id: str
    on_network_rights_platform: bool = False
    violations: Sequence[Violation] = ()  # major violations with occurred_on ≤ end of m
    first_zero_credit_month: dt.date | None = None  # earliest month ≤ m whose credit_score ≤ 0
    credit_scores: Mapping[dt.date, Decimal] = field(default_factory=dict)  # month → weighted credit_score, ≤ m


@dataclass(frozen=True)
class RenewalDecision:
    contract_id: str
    partner_id: str
    month: dt.date
    end_date: dt.date
    decision: str
    reentry_banned_until: dt.date | None
    late_notice: bool
    reasons: str
    clause: str


@dataclass(frozen=True)
class Finding:
    """One matching rule: its article, the decision it would give, its ban (last banned day) and its reason line."""

    clause: str
    decision: str
    banned_until: dt.date | None
    line: str
    late_notice: bool = False


def ban_until(anchor: dt.date, years: int) -> dt.date | None:
    """Last banned day of an ``years``-year ban anchored on ``anchor`` (anchor + years, calendar months)."""
    return add_months(anchor, 12 * years) if years > 0 else None


def _ban_text(anchor: dt.date, until: dt.date | None, years: int) -> str:
    if until is None:
        return ""
    return f"，{anchor}起{years}年内（至{until}）不得重新开展本类型合作"


def review_months(month: dt.date, rules: RenewalRules) -> list[dt.date]:
    """The months m−(n−1)..m whose credit scores rule 4 (第二十条) reads, oldest first."""
    return [add_months(month, -k) for k in range(rules.low_score_months - 1, -1, -1)]


def exit_deadline(end_date: dt.date, on_platform: bool, rules: RenewalRules) -> dt.date:
    """Latest day an exit request is on time: end_date − 1 month (− 2 months on the network-wide platform)."""
    months = rules.exit_notice_months_platform if on_platform else rules.exit_notice_months
    return add_months(end_date, -months)


# ---------------------------------------------------------------- the rules, in order


def terminated(partner: PartnerRecord, rules: RenewalRules) -> Finding | None:
    """Rule 1: a major violation (第十九条) or a credit score ≤ 0 (第二十条) has ended the cooperation.

    第十九条 has two branches (SPEC v2 §8): a violation with ``bad_credit_list = true`` is 认定并处罚 under
    《合作伙伴不良信用名单管理办法》 — ``terminated`` citing ``第十九条/不良信用名单``, no re-entry ban from this
    policy, the reason says the ban and penalty follow that regulation; otherwise (``false``) 直接终止合作 with
    the 2-year ban. With several violations the first ends the cooperation and decides the branch; each ``false``
    one bars 2 years and the latest of them sets the ban (a listed violation never shortens or sets it).
    """
    if partner.violations:
        ordered = sorted(partner.violations, key=lambda v: (v.occurred_on, v.violation_id))
        first = ordered[0]
        plain = [v for v in ordered if not v.bad_credit_list]
        anchor = plain[-1].occurred_on if plain else None
        last = ban_until(anchor, rules.ban_violation_years) if anchor is not None else None
        kind = f"（附件8第{first.violation_type}项）" if first.violation_type else ""
        more = f"（另有{len(ordered) - 1}起）" if len(ordered) > 1 else ""
        if first.bad_credit_list:
            line = (
                f"{ART_VIOLATION}（不良信用名单）：合作方于{first.occurred_on}发生重大违规{first.violation_id}{kind}{more}，"
                f"符合{BAD_CREDIT_LIST_RULES}规定，按该办法认定并处罚，终止合作；禁入期限及处罚按该办法执行"
            )
            if plain:
                line += (
                    f"；{plain[-1].occurred_on}的重大违规{plain[-1].violation_id}不属该办法认定情形"
                    f"{_ban_text(anchor, last, rules.ban_violation_years)}。"
                )
            else:
                line += "，本办法不另设禁入期。"
            return Finding(f"{ART_VIOLATION}/不良信用名单", TERMINATED, last, line)
        listed = "（其中部分按不良信用名单管理办法认定）" if len(plain) < len(ordered) else ""
        line = (
            f"{ART_VIOLATION}：合作方于{first.occurred_on}发生重大违规{first.violation_id}{kind}{more}{listed}，"
            f"直接终止合作{_ban_text(anchor, last, rules.ban_violation_years)}。"
        )
        return Finding(ART_VIOLATION, TERMINATED, last, line)
    if partner.first_zero_credit_month is not None:
        line = (
            f"{ART_CREDIT}：合作方信用积分于{partner.first_zero_credit_month:%Y年%m月}扣减至0，"
            "在相应业务线执行违规退出，终止合作。"
        )
        return Finding(ART_CREDIT, TERMINATED, None, line)
    return None


def rights_not_delivered(contract: Contract, rules: RenewalRules) -> Finding | None:
    """Rule 2 (第十七条)."""
    if contract.rights_delivered:
        return None
    until = ban_until(contract.end_date, rules.ban_rights_years)
    line = (
        f"{ART_RIGHTS}：合作方未能向用户提供合作方案约定的权益，不予续约"
        f"{_ban_text(contract.end_date, until, rules.ban_rights_years)}。"
    )
    return Finding(ART_RIGHTS, NOT_RENEWED, until, line)


def launch_blocked(contract: Contract) -> Finding | None:
    """Rule 3 (第十八条): not launched, and through the partner's fault."""
    if contract.product_launched or not contract.launch_blocked_by_partner:
        return None
    return Finding(ART_LAUNCH, NOT_RENEWED, None, f"{ART_LAUNCH}：因合作方原因导致联合会员产品未上线，不再续签。")


def low_credit(contract: Contract, partner: PartnerRecord, month: dt.date, rules: RenewalRules) -> Finding | None:
    """Rule 4 (第二十条): every one of the last ``low_score_months`` credit scores below the threshold.

    A month without a score (not yet cooperating, or before the partitions start) means fewer than six scores,
    and such a partner is never refused under this rule.
    """
    months = review_months(month, rules)
    scores = [partner.credit_scores.get(m) for m in months]
    if any(s is None for s in scores) or any(s >= rules.low_score_threshold for s in scores):
        return None
    until = ban_until(contract.end_date, rules.ban_low_score_years)
    listed = "、".join(f"{m:%Y-%m} {s}" for m, s in zip(months, scores, strict=True))
    line = (
        f"{ART_CREDIT}：续约前近{rules.low_score_months}次信用积分均低于{rules.low_score_threshold}分（{listed}），"
        f"不再续签{_ban_text(contract.end_date, until, rules.ban_low_score_years)}。"
    )
    return Finding(ART_CREDIT, NOT_RENEWED, until, line)


def qualification_lost(contract: Contract) -> Finding | None:
    """Rule 5 (第二十二条)."""
    if contract.qualification_ok:
        return None
    line = f"{ART_QUALIFICATION}：合作方资质变更，不再满足合作权益引入的资质要求，不再续签。"
    return Finding(ART_QUALIFICATION, NOT_RENEWED, None, line)


def exit_requested(contract: Contract, partner: PartnerRecord, rules: RenewalRules) -> Finding | None:
    """Rule 6 (第二十一条): the partner asked to leave; late when after the notice deadline."""
    if contract.exit_requested_on is None:
        return None
    on_platform = partner.on_network_rights_platform
    deadline = exit_deadline(contract.end_date, on_platform, rules)
    months = rules.exit_notice_months_platform if on_platform else rules.exit_notice_months
    late = contract.exit_requested_on > deadline
    basis = "联合会员产品上架全网权益平台，" if on_platform else ""
    verdict = "申请晚于期限（逾期申请）" if late else "按期申请"
    line = (
        f"{ART_EXIT}：合作方于{contract.exit_requested_on}申请合作期满主动退出；{basis}应提前{months}个月"
        f"（不晚于{deadline}）申请，{verdict}。"
    )
    return Finding(ART_EXIT, PARTNER_EXIT, None, line, late_notice=late)


def findings(contract: Contract, partner: PartnerRecord, month: dt.date, rules: RenewalRules) -> list[Finding]:
    """Every matching rule, in precedence order (rules 1–6; empty → rule 7 renews)."""
    if contract.start_date is not None:  # SPEC v2 §4.3: an earlier cooperation's end does not decide this contract
        month_of_start = month_start(contract.start_date)
        zero = partner.first_zero_credit_month
        partner = replace(
            partner,
            violations=tuple(of_cooperation(partner.violations, contract.start_date)),
            first_zero_credit_month=zero if zero is not None and zero >= month_of_start else None,
        )
    checks = (
        terminated(partner, rules),
        rights_not_delivered(contract, rules),
        launch_blocked(contract),
        low_credit(contract, partner, month, rules),
        qualification_lost(contract),
        exit_requested(contract, partner, rules),
    )
    return [f for f in checks if f is not None]


def decide(contract: Contract, partner: PartnerRecord, month: dt.date, rules: RenewalRules) -> RenewalDecision:
    """The renewal decision reviewed in ``month`` for ``contract`` (first matching rule decides)."""
    found = findings(contract, partner, month, rules) or [
        Finding(ART_RENEW, RENEW, None, f"{ART_RENEW}：合作方未出现第十七至二十二条所列情况，可进行续约。")
    ]
    bans = [f.banned_until for f in found if f.banned_until is not None]
    return RenewalDecision(
        contract_id=contract.contract_id,
        partner_id=contract.partner_id,
        month=month,
        end_date=contract.end_date,
        decision=found[0].decision,
        reentry_banned_until=max(bans) if bans else None,
        late_notice=any(f.late_notice for f in found),
        reasons="\n".join(f.line for f in found),
        clause=found[0].clause,
    )


def abandonment_deadline(decision_on: dt.date, rules: RenewalRules) -> dt.date:
    """Last day to return the signed contract: ``decision_on`` + 6 months (the decision day not counted)."""
    return add_months(decision_on, rules.abandon_after_months)


def abandonment(contract: Contract, month: dt.date, rules: RenewalRules) -> RenewalDecision | None:
    """第二十五条: the ``abandoned`` row of ``month`` for ``contract``, if its signing deadline falls in ``month``
    and it was never signed or signed after the deadline."""
    if contract.decision_on is None:
        return None
    deadline = abandonment_deadline(contract.decision_on, rules)
    if month_start(deadline) != month:
        return None
    if contract.signed_on is not None and contract.signed_on <= deadline:
        return None
    signed = "至今未反馈签章合同" if contract.signed_on is None else f"{contract.signed_on}才反馈签章合同"
    line = (
        f"{ART_ABANDON}：合作方通过咪咕音乐签约决策（{contract.decision_on}）后{rules.abandon_after_months}个月内"
        f"（至{deadline}）未反馈签章合同（{signed}），视为主动放弃该合作。"
    )
    return RenewalDecision(
        contract_id=contract.contract_id,
        partner_id=contract.partner_id,
        month=month,
        end_date=contract.end_date,
        decision=ABANDONED,
        reentry_banned_until=None,
        late_notice=False,
        reasons=line,
        clause=ART_ABANDON,
    )
