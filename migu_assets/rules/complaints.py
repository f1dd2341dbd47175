"""Daily complaint notifications (第七条, 附件6).

Each partner's ``uninformed_subscription`` tickets are counted per day; fewer than the threshold (5) count no
notification; reaching it counts 1 and each further step (5) one more: 5→1, 9→1, 10→2, 24→4.
"""

from __future__ import annotations

from migu_assets.policy import ComplaintRules


def notifications_for(complaints: int, rules: ComplaintRules) -> int:
    """Notifications (通报次数) for one partner-day with ``complaints`` uninformed-subscription tickets."""
    if complaints < rules.notification_threshold:
        return 0
    return 1 + (complaints - rules.notification_threshold) // rules.notification_step
