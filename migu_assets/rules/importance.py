"""Strategic importance (战略重要性, 加分项, 附件5 第2项).

Company importance (公司重要性) is the highest value among the partner's approved declarations in force — SPEC v2
§4.2: a declaration counts for month m when it was approved before m's results were issued,
``reviewed_on < issued_on(m)`` (其重要性加分在最近月份的信用积分中生效，不追溯之前**已出具**积分的月份). Approved
2024-03-04 with February issued 2024-03-07 → from February; approved 03-07 or later → from March. It never counts
for a month whose results were issued on or before ``reviewed_on``, also when that month is recomputed later:
the test compares two dates that do not change with the day of computation. Reading: approval on the issue day
itself does not count for that month (the results were already being issued, "before" is strict).
A subsidiary may carry its parent's item only when ``authorized_by_parent`` names its parent company and no other
subsidiary holds an approved declaration authorised by that parent (独家授权). Reading: when, despite the loader,
two subsidiaries hold such declarations in force, neither counts (the condition "no other subsidiary" fails for
both) and the reason says so.
Operational importance (运营重要性) is 50 in a month with info-fee revenue ≥ 50,000, purchases ≥ 50,000 or ad spend
≥ 500,000. ``importance = min(100, company + operational)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from migu_assets.policy import ImportanceRules
from migu_assets.vocabulary import BUSINESS_MEASURE_NAMES, IMPORTANCE_ITEM_NAMES

CLAUSE = "附件5/战略重要性"



@dataclass(frozen=True)
class Declaration:
    declaration_id: str
    partner_id: str
    item: str
    authorized_by_parent: str | None
    reviewed_on: dt.date


@dataclass(frozen=True)
class Importance:
    company: int
    operational: int
    importance: int
    items: str
    reason: str


def in_force(declaration: Declaration, issued_on: dt.date) -> bool:
    """An approved declaration counts for a month whose results are issued on ``issued_on`` when it was approved
    strictly before that day (SPEC v2 §4.2, 不追溯之前已出具积分的月份)."""
    return declaration.reviewed_on < issued_on


def importance_for(
    month: dt.date,
    parent_company_id: str | None,
    declarations: list[Declaration],
    contested_parents: set[str],
    business: dict[str, Decimal] | None,
    rules: ImportanceRules,
    *,
    issued_on: dt.date,
) -> Importance:
    """Importance of one partner in ``month``, whose credit results are issued on ``issued_on``.

    ``declarations`` are the partner's approved ones; ``contested_parents`` the parents that authorised more than
    one subsidiary with declarations in force this month; ``business`` its partner_monthly_business amounts.
    """
    notes: list[str] = []
    counted: list[tuple[int, Declaration]] = []
    for d in sorted(declarations, key=lambda d: (d.reviewed_on, d.declaration_id)):
        label = IMPORTANCE_ITEM_NAMES.get(d.item, d.item)
        if not in_force(d, issued_on):
            notes.append(
                f"申报{d.declaration_id}（{label}）于{d.reviewed_on}复核通过，本月积分已于{issued_on}出具，不追溯本月"
            )
            continue
        if d.authorized_by_parent:
            if d.authorized_by_parent != parent_company_id:
                notes.append(f"申报{d.declaration_id}的授权方{d.authorized_by_parent}不是本公司母公司，不计")
                continue
            if d.authorized_by_parent in contested_parents:
                notes.append(
                    f"母公司{d.authorized_by_parent}授权了多家子公司，不满足独家授权，申报{d.declaration_id}不计"
                )
                continue
        counted.append((rules.company_items.get(d.item, 0), d))
    company = max((v for v, _ in counted), default=0)
    best = [d for v, d in counted if v == company and company > 0][:1]
    met = []
    for key, threshold in rules.operational_thresholds.items():
        amount = (business or {}).get(key, Decimal(0))
        if amount >= threshold:
            met.append(f"{BUSINESS_MEASURE_NAMES[key]}{amount}元≥{threshold}元")
    operational = rules.operational_points if met else 0
    importance = min(rules.cap, company + operational)
    items = [f"{d.declaration_id}:{d.item}={company}" for d in best] + [f"运营:{m}" for m in met]
    parts = []
    if best:
        d = best[0]
        auth = f"（经母公司{d.authorized_by_parent}独家授权）" if d.authorized_by_parent else ""
        item = IMPORTANCE_ITEM_NAMES.get(d.item, d.item)
        parts.append(f"公司重要性{company}分：{item}{auth}，申报{d.declaration_id}")
    else:
        parts.append("公司重要性0分：无生效的复核通过申报")
    parts.append(f"运营重要性{operational}分" + (f"：{'；'.join(met)}" if met else "：未达运营重要性标准"))
    parts.extend(notes)
    capped = "（封顶）" if company + operational > rules.cap else ""
    reason = "，".join(parts) + f"；战略重要性{importance}分{capped}。"
    return Importance(company, operational, importance, "; ".join(items), reason)
