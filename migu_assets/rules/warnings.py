"""Monthly warning tiers (第八条, 附件7).

The month's notifications are summed day by day; a tier is reached on the first day the running total reaches
its minimum (5 一级, 10 二级, 15 三级, 20 四级). Each tier reached gets its own row (an escalation adds a row, rows
are never merged); a day that passes several minimums gives every tier passed a row with that trigger date.
Suspensions follow :mod:`migu_assets.rules.periods`: from = trigger + 1 day, until = trigger + period (inclusive).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from migu_assets.policy import WarningTier
from migu_assets.rules.periods import period_window

CLAUSE = "附件7"


@dataclass(frozen=True)
class WarningTierRow:
    partner_id: str
    month: dt.date
    tier: int
    monthly_notifications: int
    trigger_date: dt.date
    promotion_suspended_from: dt.date
    promotion_suspended_until: dt.date
    code_suspended_from: dt.date
    code_suspended_until: dt.date
    clause: str
    reason: str


def tiers_reached(
    partner_id: str,
    month: dt.date,
    daily_notifications: Iterable[tuple[dt.date, int]],
    tiers: list[WarningTier],
) -> list[WarningTierRow]:
    """Rows for every tier ``partner_id`` reaches in ``month`` from its (day, notifications) counts."""
    days = sorted((d, n) for d, n in daily_notifications if n > 0)
    total = sum(n for _, n in days)
    rows: list[WarningTierRow] = []
    running = 0
    reached: set[int] = set()
    for day, n in days:
        running += n
        for t in tiers:
            if t.tier in reached or running < t.min_notifications:
                continue
            reached.add(t.tier)
            p_from, p_until = period_window(day, t.promotion)
            c_from, c_until = period_window(day, t.code)
            rows.append(
                WarningTierRow(
                    partner_id=partner_id,
                    month=month,
                    tier=t.tier,
                    monthly_notifications=total,
                    trigger_date=day,
                    promotion_suspended_from=p_from,
                    promotion_suspended_until=p_until,
                    code_suspended_from=c_from,
                    code_suspended_until=c_until,
                    clause=f"{CLAUSE}/{t.name}",
                    reason=(
                        f"{day:%Y年%m月%d日}当月累计通报达到{running}次（≥{t.min_notifications}次），触发{t.name}："
                        f"暂停推广{t.promotion.describe()}（{p_from}至{p_until}），"
                        f"暂停业务代码新增申请{t.code.describe()}（{c_from}至{c_until}）。"
                    ),
                )
            )
    return rows
