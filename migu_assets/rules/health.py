"""Health score (健康度, 附件5 第1项).

``health = max(0, 100 − 25 × monthly_notifications − (20 if timely_rate < 0.95 else 0))``.
``timely_rate`` = the partner's tickets (all categories) due in the month handled by their due time, over all its
tickets due in the month; with no ticket due the rate is 1. Exactly 0.95 is not penalised ("低于95%（不含）").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from migu_assets.policy import HealthRules

CLAUSE = "附件5/健康度"
RATE_QUANTUM = Decimal("0.000001")  # stored precision; the < 0.95 test uses the exact ratio


def timely_rate(handled_on_time: int, due: int) -> Decimal:
    """Exact ratio of tickets handled by their due time; 1 when nothing was due."""
    if due <= 0:
        return Decimal(1)
    return Decimal(handled_on_time) / Decimal(due)


@dataclass(frozen=True)
class Health:
    health: int
    reason: str


def health_score(monthly_notifications: int, rate: Decimal, rules: HealthRules) -> Health:
    notif_deduction = rules.per_notification * monthly_notifications
    late = rate < rules.timely_rate_threshold
    late_deduction = rules.late_handling_deduction if late else 0
    score = max(0, rules.initial - notif_deduction - late_deduction)
    pct = (rate * 100).quantize(Decimal("0.01"))
    parts = [f"初始{rules.initial}分"]
    parts.append(f"当月累计通报{monthly_notifications}次扣{notif_deduction}分")
    if late:
        parts.append(f"工单处理及时率{pct}%低于{rules.timely_rate_threshold * 100:.0f}%扣{late_deduction}分")
    else:
        parts.append(f"工单处理及时率{pct}%不扣分")
    floor_note = "，扣减至0分为止" if score == 0 and notif_deduction + late_deduction > rules.initial else ""
    return Health(score, "，".join(parts) + f"，健康度{score}分{floor_note}。")
