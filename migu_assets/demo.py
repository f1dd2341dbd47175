"""Reproducible demo data for the source tables of the data contract (SPEC §1).

``generate_demo(engine)`` writes partners, complaint tickets, control events, importance declarations, monthly
business figures, settlement items, a payment hold, one major violation, contracts, credit issue dates and exit
deductions for ``months`` months from ``start``, all in one transaction. Every random choice comes from
``random.Random(seed)`` and nothing reads the wall clock, so the same arguments always write the same rows.

Partners come in blocks of 20; the k-th partner of every block plays role k below (ids of the first block; the
default period is m1 = 2024-01 … m6 = 2024-06). The designed parts are fixed, not drawn, so the tiers, scores,
grades and decisions they lead to do not depend on the seed: the seed only changes names, the background traffic
(low-volume tickets, which never reach a notification and are handled on time; one extra control event per block
and month on a "plain" partner), amounts and timestamps. Roles that need a month beyond ``months`` are left out.

====== ============================================================================================================
P0001  parent company (P0002, P0003, P0012 are its subsidiaries); on the network rights platform; approved
       ``cmcc_strategic_agreement`` reviewed before the period; info_fee_revenue ≥ 50 000 every month → importance 100
P0002  subsidiary; approved ``cmcc_strategic_agreement`` authorised by P0001, reviewed m1 day 15; contract ends at the
       end of m2 (reviewed m1) → renew, decision/signing recorded, follow-up contract
P0003  subsidiary; declaration authorised by P0001 **rejected** (P0001 already authorised P0002); contract ends at the
       end of m4 with product not launched, blocked by the partner (第十八条) → not_renewed in m3
P0004  tier 1: m1 one notification (6 complaints on day 17); m2 7 notifications (tier 1 triggered day 14)
P0005  m2 timely rate < 0.95 (every 4th ticket due in m2 late); m3 11 notifications (tier 1 day 13, tier 2 day 27)
P0006  tier 3: m1 16 notifications (tier 1 day 7, tier 2 day 15, tier 3 day 22); m2 6 notifications (tier 1 day 21)
P0007  tier 4: m3 22 notifications (tier 1 day 8, tiers 2 **and** 3 on day 15 with 35 complaints, tier 4 day 20);
       m4 11 (day 1 has 24 complaints = 4; tier 1 day 2, tier 2 day 16); m5 7 (tier 1 day 24); contract ends at the
       end of m7 (reviewed m6) → renew: fewer than 6 months below 450
P0008  timely rate < 0.95 in m2 and m4 (every 4th ticket due then is late); m4 also one notification (day 20)
P0009  exactly 20 tickets due in each month; m3 19 on time (rate exactly 0.95, not penalised); m5 18 (0.90,
       penalised); contract ends at the end of m4 → renew
P0010  migu_ad_spend ≥ 500 000 from m2 (operational importance 50); m5 one notification (day 9); contract ends at
       the end of m5 with qualification_ok false (第二十二条) → not_renewed in m4
P0011  ``national_media_portal`` approved on m3 day 12 (counts from m3, never for m1/m2); m2 one notification
       (day 15) so m2 shows 625 and not 825; contract ends at the end of m6 → renew
P0012  subsidiary of P0001 (no authorisation); ``listed_company_or_soe`` declaration pending; its only contract ends
       at the end of m3 with rights_delivered false (第十七条) → not_renewed, phone-bill items go on (清算期);
       a 3,000.00 违约金 exit deduction recorded m4 day 20
P0013  cooperation_start in m2 (day 5): scored from m2, weights renormalised; m3 one notification (day 12)
P0014  major violation (type 3) on m4 day 11, recorded the next day 09:xx; no tickets/events after it, settlement
       items up to m5; contract ends at the end of m6 → terminated in m5 (第十九条)
P0015  on the platform; m3 deductions exceed the share (negative settlement), m4 absorbs it; exit requested on m5
       day 6 for a contract ending at the end of m6 → partner_exit with late_notice (2-month platform notice);
       a 1,250.50 稽核核减 exit deduction recorded m6 day 28
P0016  payment hold "联动止付" from m3 day 15 to the end of m4; approved ``provincial_media_portal`` before the
       period; an old contract (ended the day before m1) with decision_on 42 days before m1 and no signed_on →
       abandoned in the month of decision_on + 6 months (m5)
P0017  business P0017-B1: six warnings in m2 (dial_test_provincial, group_complaint_notice, dial_test_group, …) →
       escalation at the 3rd (15 days), 4th (1 month), 5th and 6th (whole partner 1 month); S1 controlled twice
P0018  sub-channel P0018-S1 gets three 附件3 controls in m3 (dial_test_provincial JS, dial_test_miit, dial_test_ca JS)
P0019  m4: dial_test_group, then dial_test_provincial GD with issuer_requirement "按省公司函件要求关停当省推广2个月"
       (counts toward no escalation), group_complaint_notice, dial_test_provincial ZJ (3rd warning → 15 days);
       approved ``migu_strategic_agreement`` before the period
P0020  provincial_important_complaint (m1, BJ), regulator_supervised_provincial (m2, HA), regulator_supervised_national
       (m5); migu_purchases ≥ 50 000 in m4; exit requested in m3 day 20 for a contract ending at the end of m5
       (timely notice)
====== ============================================================================================================

Credit issue dates are written for m1 (1st working day of m3, a late issue) and m2 (3rd working day of m3), so m2's
C–F results supersede m1's (P0006); later months use the default. With the default 20 partners and 6 months the
data shows grades A–F and TERMINATED (see ``tests/test_demo.py`` for the hand check).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from migu_assets.policy import Policy, PolicyError, load_policy_book
from migu_assets.rules.workdays import UnknownCalendarYear, WorkdayCalendar
from migu_assets.warehouse.schema import SOURCE_TABLES, demo_marks
from migu_assets.warehouse.writer import insert_rows

__all__ = ["DemoDataExists", "DemoSummary", "ForeignRows", "build_demo_rows", "generate_demo"]

BLOCK = 20
INSERT_CHUNK = 2000
CENT = Decimal("0.01")
UNINFORMED, OTHER = "uninformed_subscription", "other"
MAX_BACKGROUND_UNINFORMED_PER_DAY = 4  # below the notification threshold (5)

PROVINCES = ("BJ", "SH", "GD", "ZJ", "JS", "SD", "HA", "SC", "HB", "HN", "FJ", "AH", "LN", "SN", "CQ", "TJ", "HE", "GX")
CITIES = (
    "北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "长沙",
    "厦门", "苏州", "天津", "重庆", "合肥", "济南",
)
BRANDS = (
    "星河", "云帆", "乐享", "蓝鲸", "悦听", "华音", "青禾", "启明", "灵犀", "声动",
    "万象", "橙果", "拾光", "聚星", "极光", "海韵", "鸿图", "知音", "随心", "麦田",
    "泛音", "九州", "天籁", "微澜", "和鸣", "朗悦", "优听", "繁星",
)
INDUSTRIES = (
    "文化传媒", "网络科技", "信息技术", "数字娱乐", "影视文化",
    "互动娱乐", "科技", "电子商务", "教育科技", "健康科技",
)
CHANNELS = {
    "phone_bill": ("话费代计费一级平台", "中国移动APP", "咪咕音乐客户端（话费）", "10086短信营业厅"),
    "third_party": ("支付宝", "微信支付", "咪咕音乐客户端（第三方支付）", "云闪付"),
}
SHARE_RATIOS = (Decimal("0.50"), Decimal("0.60"), Decimal("0.70"))

# Designed uninformed-subscription days: role -> {month (1-based): [(day of month, complaints), ...]}.
DESIGNED_COMPLAINTS: dict[int, dict[int, list[tuple[int, int]]]] = {
    4: {1: [(17, 6)], 2: [(2, 5), (5, 6), (8, 7), (11, 9), (14, 5), (19, 8), (23, 5)]},
    5: {3: [(3, 5), (6, 10), (9, 7), (13, 5), (16, 6), (20, 12), (24, 5), (27, 9), (28, 5)]},
    6: {
        1: [(2, 10), (4, 5), (7, 15), (9, 6), (12, 10), (15, 20), (18, 5), (22, 8), (25, 5)],
        2: [(3, 5), (8, 5), (13, 9), (18, 5), (21, 6), (26, 5)],
    },
    7: {
        3: [(3, 10), (5, 12), (8, 5), (10, 14), (12, 9), (15, 35), (20, 25), (22, 10)],
        4: [(1, 24), (2, 5), (6, 10), (11, 5), (16, 15)],
        5: [(4, 5), (9, 5), (14, 5), (19, 5), (24, 5), (26, 5), (28, 5)],
    },
    8: {4: [(20, 5)]},
    10: {5: [(9, 7)]},
    11: {2: [(15, 5)]},
    13: {3: [(12, 6)]},
}
# role -> months whose tickets (by due month) are handled late, every 4th one
LATE_MONTHS: dict[int, tuple[int, ...]] = {5: (2,), 8: (2, 4)}
# role 9: exactly this many tickets due per month, and how many of them are late
EXACT_TICKETS_PER_MONTH = 20
EXACT_LATE: dict[int, int] = {3: 1, 5: 2}

# (role, month, day, event_type, business no., sub-channel no., province, issuer_requirement)
DESIGNED_EVENTS: list[tuple[int, int, int, str, int, int | None, str | None, str | None]] = [
    (17, 2, 3, "dial_test_provincial", 1, 1, "GD", None),
    (17, 2, 6, "group_complaint_notice", 1, None, None, None),
    (17, 2, 9, "dial_test_group", 1, 2, None, None),
    (17, 2, 14, "dial_test_provincial", 1, 3, "ZJ", None),
    (17, 2, 20, "group_complaint_notice", 1, None, "SD", None),
    (17, 2, 26, "dial_test_group", 1, 1, None, None),
    (18, 3, 4, "dial_test_provincial", 1, 1, "JS", None),
    (18, 3, 12, "dial_test_miit", 1, 1, None, None),
    (18, 3, 21, "dial_test_ca", 1, 1, "JS", None),
    (19, 4, 5, "dial_test_group", 1, 1, None, None),
    (19, 4, 10, "dial_test_provincial", 1, 1, "GD", "按省公司函件要求关停当省推广2个月"),
    (19, 4, 18, "group_complaint_notice", 1, None, None, None),
    (19, 4, 25, "dial_test_provincial", 1, 1, "ZJ", None),
    (20, 1, 15, "provincial_important_complaint", 1, None, "BJ", None),
    (20, 2, 7, "regulator_supervised_provincial", 1, 1, "HA", None),
    (20, 5, 19, "regulator_supervised_national", 1, 2, None, None),
]
BACKGROUND_EVENT_ROLES = (2, 3, 9, 11, 12, 16)
SUBSIDIARY_ROLES = (2, 3, 12)
PLATFORM_ROLES = (1, 15)
NOT_PLATFORM_ROLES = (20,)
VIOLATION_ROLE, VIOLATION_MONTH, VIOLATION_DAY = 14, 4, 11
NEGATIVE_ROLE, NEGATIVE_MONTH = 15, 3
HOLD_ROLE, HOLD_MONTH, HOLD_DAY, HOLD_LAST_MONTH = 16, 3, 15, 4
LATE_START_ROLE, LATE_START_MONTH, LATE_START_DAY = 13, 2, 5
VIOLATION_DESCRIPTION = (
    "违反国家法律、法规和行业政策开展业务：在未经用户二次确认的情况下通过诱导弹窗为用户开通联合会员并扣费，"
    "经省通信管理局查实并通报"
)


class DemoDataExists(Exception):
    """A source table already holds rows and ``replace`` was not asked for."""

    def __init__(self, message: str, tables: list[str] | None = None):
        super().__init__(message)
        self.tables = tables or []


class ForeignRows(Exception):
    """``replace`` would delete source rows the demo did not write (real data?) and ``force`` was not given."""

    def __init__(self, counts: dict[str, int]):
        super().__init__(f"source tables hold rows the demo did not write: {counts}")
        self.counts = counts  # table → rows that are not (exactly) the demo's


@dataclass(frozen=True)
class DemoSummary:
    start: dt.date
    end: dt.date  # first day of the last month
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class _Business:
    business_id: str
    payment_method: str
    channel: str
    share_ratio: Decimal


@dataclass
class _Partner:
    pid: str
    role: int
    block: int
    name: str
    parent: str | None
    platform: bool
    coop_start: dt.date
    businesses: list[_Business]
    first_day: dt.date  # first day with activity in the period
    last_day: dt.date  # last day with tickets/events (violation day or period end)
    last_item_month: dt.date


def _cents(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(CENT)


def _round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


class _Builder:
    def __init__(self, partners: int, months: int, seed: int, start: dt.date, policy: Policy):
        self.n = partners
        self.months = months
        self.rng = random.Random(seed)
        self.start = start
        self.policy = policy
        self.period_end = self.month(months) + relativedelta(months=1) - dt.timedelta(days=1)
        self.partners: list[_Partner] = []
        self.by_role: dict[tuple[int, int], _Partner] = {}
        thr = policy.importance.operational_thresholds
        self.thr_info = int(thr.get("info_fee_revenue", Decimal(50000)) * 100)
        self.thr_purchases = int(thr.get("migu_purchases", Decimal(50000)) * 100)
        self.thr_ad = int(thr.get("migu_ad_spend", Decimal(500000)) * 100)

    # ------------------------------------------------------------------ helpers
    def month(self, i: int) -> dt.date:
        """First day of the i-th month of the period (1-based)."""
        return self.start + relativedelta(months=i - 1)

    def month_end(self, i: int) -> dt.date:
        return self.month(i + 1) - dt.timedelta(days=1)

    def day(self, i: int, day: int) -> dt.date:
        return self.month(i).replace(day=day)

    def has_month(self, i: int) -> bool:
        return 1 <= i <= self.months

    def months_of(self, p: _Partner, last: dt.date | None = None) -> list[tuple[int, dt.date]]:
        last = last or p.last_day
        out = []
        for i in range(1, self.months + 1):
            m = self.month(i)
            if m >= p.first_day.replace(day=1) and m <= last:
                out.append((i, m))
        return out

    def pick_cents(self, low: int, high: int) -> Decimal:
        return _cents(self.rng.randint(low, high))

    # ------------------------------------------------------------------ partners
    def build_partners(self) -> None:
        rng = self.rng
        used: set[str] = set()

        def unique_name(brand: str | None = None) -> str:
            while True:
                name = (f"{rng.choice(CITIES)}{brand or rng.choice(BRANDS)}{rng.choice(INDUSTRIES)}有限公司")
                if name not in used:
                    used.add(name)
                    return name

        parent_brand: dict[int, str] = {}
        for idx in range(self.n):
            block, role = divmod(idx, BLOCK)
            role += 1
            pid = f"P{idx + 1:04d}"
            parent = None
            if role == 1:
                parent_brand[block] = rng.choice(BRANDS)
                name = unique_name(parent_brand[block])
            elif role in SUBSIDIARY_ROLES:
                name = unique_name(parent_brand[block])
                parent = self.by_role[(block, 1)].pid
            else:
                name = unique_name()
            if role in PLATFORM_ROLES:
                platform = True
            elif role in NOT_PLATFORM_ROLES:
                platform = False
            else:
                platform = rng.random() < 0.25
            if role == LATE_START_ROLE and self.has_month(LATE_START_MONTH):
                coop_start = self.day(LATE_START_MONTH, LATE_START_DAY)
            else:
                coop_start = self.start - dt.timedelta(days=rng.randint(90, 540))
            n_biz = 3 if role == 1 else 2 if role == 17 else rng.choice((1, 2, 2, 3))
            businesses = []
            for k in range(1, n_biz + 1):
                method = "phone_bill" if k == 1 else rng.choice(("phone_bill", "third_party"))
                businesses.append(
                    _Business(f"{pid}-B{k}", method, rng.choice(CHANNELS[method]), rng.choice(SHARE_RATIOS))
                )
            first_day = max(self.start, coop_start)
            last_day, last_item_month = self.period_end, self.month(self.months)
            if role == VIOLATION_ROLE and self.has_month(VIOLATION_MONTH):
                last_day = self.day(VIOLATION_MONTH, VIOLATION_DAY)
                last_item_month = self.month(min(self.months, VIOLATION_MONTH + 1))
            p = _Partner(pid, role, block, name, parent, platform, coop_start, businesses, first_day, last_day,
                         last_item_month)
            self.partners.append(p)
            self.by_role[(block, role)] = p

    def partner_rows(self) -> list[dict]:
        return [
            {
                "partner_id": p.pid,
                "name": p.name,
                "parent_company_id": p.parent,
                "on_network_rights_platform": p.platform,
                "cooperation_start": p.coop_start,
            }
            for p in self.partners
        ]

    # ------------------------------------------------------------------ complaint tickets
    def _ticket(self, p: _Partner, created: dt.datetime, category: str) -> dict:
        rng = self.rng
        due = created + dt.timedelta(hours=48)
        business = rng.choice(p.businesses).business_id if rng.random() >= 0.02 else None  # not identified
        return {
            "partner_id": p.pid,
            "business_id": business,
            "province": rng.choice(PROVINCES) if rng.random() >= 0.02 else None,
            "category": category,
            "created_at": created,
            "due_at": due,
            "handled_at": created + dt.timedelta(seconds=rng.randrange(1800, 46 * 3600)),
        }

    def _created_on(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0)) + dt.timedelta(seconds=self.rng.randrange(7 * 3600, 23 * 3600))

    def _make_late(self, ticket: dict, allow_open: bool = True) -> None:
        if allow_open and self.rng.random() < 0.25:
            ticket["handled_at"] = None
        else:
            ticket["handled_at"] = ticket["due_at"] + dt.timedelta(seconds=self.rng.randrange(3600, 96 * 3600))

    def ticket_rows(self) -> list[dict]:
        rng = self.rng
        out: list[dict] = []
        for p in self.partners:
            designed: dict[dt.date, int] = {}
            for i, days in DESIGNED_COMPLAINTS.get(p.role, {}).items():
                if not self.has_month(i):
                    continue
                for d, n in days:
                    day = self.day(i, d)
                    if p.first_day <= day <= p.last_day:
                        designed[day] = n
            uninformed: Counter[dt.date] = Counter()
            mine: list[dict] = []

            def background(created: dt.datetime, p=p, designed=designed, uninformed=uninformed) -> dict:
                day = created.date()
                category = OTHER
                if day not in designed and uninformed[day] < MAX_BACKGROUND_UNINFORMED_PER_DAY and rng.random() < 0.3:
                    category = UNINFORMED
                    uninformed[day] += 1
                return self._ticket(p, created, category)

            if p.role == 9:
                # exactly EXACT_TICKETS_PER_MONTH tickets due in every month: created 48 h before a due time in it
                for i, m in self.months_of(p):
                    lo = max(dt.datetime.combine(m, dt.time(0)) - dt.timedelta(hours=48),
                             dt.datetime.combine(p.first_day, dt.time(0)))
                    hi = dt.datetime.combine(self.month(i + 1), dt.time(0)) - dt.timedelta(hours=48)
                    span = int((hi - lo).total_seconds())
                    if span <= 0:
                        continue
                    month_tickets = [
                        background(lo + dt.timedelta(seconds=s))
                        for s in sorted(rng.randrange(0, span) for _ in range(EXACT_TICKETS_PER_MONTH))
                    ]
                    for j in rng.sample(range(EXACT_TICKETS_PER_MONTH), EXACT_LATE.get(i, 0)):
                        self._make_late(month_tickets[j], allow_open=False)
                    mine.extend(month_tickets)
            else:
                for day in _days(p.first_day, p.last_day):
                    k = rng.choices((0, 1, 2, 3), weights=(50, 30, 15, 5))[0]
                    for _ in range(k):
                        mine.append(background(self._created_on(day)))
                    if day == self.period_end:
                        for t in mine[len(mine) - k:]:
                            if rng.random() < 0.5:
                                t["handled_at"] = None  # still open when the period closes (due next month)
                for day, n in designed.items():
                    mine.extend(self._ticket(p, self._created_on(day), UNINFORMED) for _ in range(n))
                for i in LATE_MONTHS.get(p.role, ()):
                    if not self.has_month(i):
                        continue
                    m, nxt = self.month(i), self.month(i + 1)
                    due_then = [t for t in mine if m <= t["due_at"].date() < nxt]
                    if not due_then:  # make sure the month has tickets to be late on
                        extra = self._ticket(p, self._created_on(self.day(i, 10)), OTHER)
                        mine.append(extra)
                        due_then = [extra]
                    due_then.sort(key=lambda t: t["created_at"])
                    for t in due_then[::4]:
                        self._make_late(t)
            out.extend(mine)
        out.sort(key=lambda t: t["created_at"])
        seq: Counter[dt.date] = Counter()
        rows = []
        for t in out:
            day = t["created_at"].date()
            seq[day] += 1
            rows.append({"ticket_id": f"T{day:%Y%m%d}{seq[day]:05d}", **t})
        return rows

    # ------------------------------------------------------------------ control events
    def _event(self, p: _Partner, day: dt.date, event_type: str, business: int, sub: int | None,
               province: str | None, issuer: str | None) -> dict:
        return {
            "partner_id": p.pid,
            "business_id": f"{p.pid}-B{business}",
            "sub_channel_id": f"{p.pid}-S{sub}" if sub else None,
            "event_type": event_type,
            "province": province,
            "event_date": day,
            "issuer_requirement": issuer,
        }

    def event_rows(self) -> list[dict]:
        rng = self.rng
        rules = self.policy.control.events
        out = []
        covered: set[str] = set()
        for p in self.partners:
            for role, i, d, event_type, biz, sub, province, issuer in DESIGNED_EVENTS:
                if role != p.role or not self.has_month(i) or event_type not in rules:
                    continue
                day = self.day(i, d)
                if p.first_day <= day <= p.last_day:
                    out.append(self._event(p, day, event_type, biz, sub, province, issuer))
                    covered.add(event_type)
        types = list(rules)
        blocks = sorted({p.block for p in self.partners})
        for block in blocks:
            pool = [self.by_role[(block, r)] for r in BACKGROUND_EVENT_ROLES if (block, r) in self.by_role]
            for i in range(1, self.months + 1):
                candidates = [p for p in pool if p.first_day <= self.month_end(i) and p.last_day >= self.month(i)]
                if not candidates:
                    continue
                p = rng.choice(candidates)
                event_type = rng.choice(types)
                out.append(self._background_event(p, i, event_type))
                covered.add(event_type)
        # any event type of the policy that no designed event uses still appears once
        last = self.by_role.get((0, 20)) or self.partners[-1]
        for event_type in types:
            if event_type not in covered:
                out.append(self._background_event(last, self.months, event_type))
        out.sort(key=lambda e: (e["event_date"], e["partner_id"], e["business_id"], e["event_type"]))
        seq: Counter[dt.date] = Counter()
        rows = []
        for e in out:
            seq[e["event_date"]] += 1
            rows.append({"event_id": f"CE{e['event_date']:%Y%m%d}{seq[e['event_date']]:03d}", **e})
        return rows

    def _background_event(self, p: _Partner, i: int, event_type: str) -> dict:
        rng = self.rng
        rule = self.policy.control.events[event_type]
        lo = max(self.month(i), p.first_day)
        hi = min(self.month_end(i), p.last_day)
        day = lo + dt.timedelta(days=rng.randint(0, max(0, (hi - lo).days)))
        province = rng.choice(PROVINCES) if rule.requires_province or rng.random() < 0.3 else None
        sub = rng.randint(1, 2) if rule.sub_channel is not None else None
        return self._event(p, day, event_type, rng.randint(1, len(p.businesses)), sub, province, None)

    # ------------------------------------------------------------------ importance declarations
    def declaration_rows(self) -> list[dict]:
        items = self.policy.importance.company_items

        def item(name: str) -> str:
            return name if name in items else sorted(items)[0]

        s = self.start
        out = []
        for p in self.partners:
            parent = self.by_role[(p.block, 1)].pid if p.role in SUBSIDIARY_ROLES else None
            plan: list[tuple[str, str | None, dt.date, str, dt.date | None]] = []
            if p.role == 1:
                plan.append(("cmcc_strategic_agreement", None, s - dt.timedelta(days=140), "approved",
                             s - dt.timedelta(days=108)))
            elif p.role == 2:
                plan.append(("cmcc_strategic_agreement", parent, self.day(1, 5), "approved", self.day(1, 15)))
            elif p.role == 3 and self.has_month(2):
                plan.append(("cmcc_strategic_agreement", parent, self.day(1, 20), "rejected", self.day(2, 2)))
            elif p.role == 11 and self.has_month(2):
                plan.append(("national_media_portal", None, self.day(2, 26), "approved",
                             self.day(3, 12) if self.has_month(3) else None))
            elif p.role == 12 and self.has_month(4):
                plan.append(("listed_company_or_soe", None, self.day(4, 8), "pending", None))
            elif p.role == 16:
                plan.append(("provincial_media_portal", None, s - dt.timedelta(days=100), "approved",
                             s - dt.timedelta(days=75)))
            elif p.role == 19:
                plan.append(("migu_strategic_agreement", None, s - dt.timedelta(days=50), "approved",
                             s - dt.timedelta(days=27)))
            for name, auth, submitted, status, reviewed in plan:
                if reviewed is None:
                    status = "pending"
                out.append({
                    "partner_id": p.pid,
                    "item": item(name),
                    "authorized_by_parent": auth,
                    "submitted_on": submitted,
                    "review_status": status,
                    "reviewed_on": reviewed,
                    "minutes_ref": None,
                })
        out.sort(key=lambda r: (r["submitted_on"], r["partner_id"]))
        minutes: Counter[int] = Counter()
        for r in sorted((r for r in out if r["reviewed_on"]), key=lambda r: (r["reviewed_on"], r["partner_id"])):
            year = r["reviewed_on"].year
            minutes[year] += 1
            r["minutes_ref"] = f"创新拓展中心会议纪要〔{year}〕{minutes[year]}号"
        return [{"declaration_id": f"DCL{n:04d}", **r} for n, r in enumerate(out, start=1)]

    # ------------------------------------------------------------------ business figures and settlement items
    def business_and_settlement_rows(self) -> tuple[list[dict], list[dict]]:
        rng = self.rng
        business, items = [], []
        for p in self.partners:
            by_month: dict[int, list[dict]] = {}
            for i, m in self.months_of(p, p.last_item_month):
                month_items = []
                for b in p.businesses:
                    if p.role == 1:
                        fee = self.pick_cents(self.thr_info * 2 // 5, self.thr_info * 4 // 5)
                    else:
                        fee = self.pick_cents(self.thr_info * 6 // 100, self.thr_info * 3 // 10)
                    deductions = Decimal("0.00")
                    if rng.random() < 0.3:
                        deductions = _round2(fee * rng.randint(5, 30) / 1000)
                    month_items.append({
                        "item_id": f"SI{m:%Y%m}-{b.business_id}",
                        "partner_id": p.pid,
                        "business_id": b.business_id,
                        "month": m,
                        "payment_method": b.payment_method,
                        "channel": b.channel,
                        "info_fee": fee,
                        "share_ratio": b.share_ratio,
                        "deductions": deductions,
                    })
                by_month[i] = month_items
            if p.role == NEGATIVE_ROLE and NEGATIVE_MONTH in by_month:
                def share(rows: list[dict]) -> Decimal:
                    return sum((_round2(r["info_fee"] * r["share_ratio"]) for r in rows), Decimal("0.00"))

                absorbed = Decimal("2000.00")
                if NEGATIVE_MONTH + 1 in by_month:
                    for r in by_month[NEGATIVE_MONTH + 1]:
                        r["deductions"] = Decimal("0.00")
                    absorbed = _round2(share(by_month[NEGATIVE_MONTH + 1]) * Decimal("0.4"))
                month_rows = by_month[NEGATIVE_MONTH]
                for r in month_rows:
                    r["deductions"] = Decimal("0.00")
                month_rows[0]["deductions"] = share(month_rows) + absorbed  # 核减信息费 larger than the share
            for i, month_items in by_month.items():
                items.extend(month_items)
                purchases = Decimal("0.00")
                if p.role == 20 and i == 4:
                    purchases = self.pick_cents(self.thr_purchases * 6 // 5, self.thr_purchases * 8 // 5)
                elif rng.random() < 0.6:
                    purchases = self.pick_cents(0, self.thr_purchases * 3 // 5)
                ad_spend = Decimal("0.00")
                if p.role == 10 and i >= 2:
                    ad_spend = self.pick_cents(self.thr_ad * 26 // 25, self.thr_ad * 8 // 5)
                elif rng.random() < 0.5:
                    ad_spend = self.pick_cents(0, self.thr_ad * 3 // 5)
                business.append({
                    "partner_id": p.pid,
                    "month": self.month(i),
                    "info_fee_revenue": sum((r["info_fee"] for r in month_items), Decimal("0.00")),
                    "migu_purchases": purchases,
                    "migu_ad_spend": ad_spend,
                })
        return business, items

    # ------------------------------------------------------------------ holds, violations, contracts, issue dates
    def hold_rows(self) -> list[dict]:
        if not self.has_month(HOLD_MONTH):
            return []
        end = self.month_end(HOLD_LAST_MONTH) if self.has_month(HOLD_LAST_MONTH) else None
        return [
            {"partner_id": p.pid, "start_date": self.day(HOLD_MONTH, HOLD_DAY), "end_date": end, "reason": "联动止付"}
            for p in self.partners
            if p.role == HOLD_ROLE
        ]

    def violation_rows(self) -> list[dict]:
        if not self.has_month(VIOLATION_MONTH):
            return []
        out = []
        for p in self.partners:
            if p.role != VIOLATION_ROLE:
                continue
            occurred = self.day(VIOLATION_MONTH, VIOLATION_DAY)
            recorded = dt.datetime.combine(occurred + dt.timedelta(days=1), dt.time(9, self.rng.randrange(60)))
            out.append({
                "violation_id": f"V{occurred:%Y}{len(out) + 1:04d}",
                "partner_id": p.pid,
                "violation_type": 3,
                "occurred_on": occurred,
                "recorded_at": recorded,
                "description": VIOLATION_DESCRIPTION,
                "bad_credit_list": False,
            })
        return out

    def exit_deduction_rows(self) -> list[dict]:
        """第二十四条: what the exiting partners owe, deducted from the money held when their clearing period ends."""
        plan = {
            12: (4, 20, "penalty", Decimal("3000.00"), "未按合作方案提供约定权益的违约金（第十七条）"),
            15: (6, 28, "audit", Decimal("1250.50"), "省公司稽核核减信息费"),
        }
        out = []
        for p in self.partners:
            if p.role not in plan or not self.has_month(plan[p.role][0]):
                continue
            month, day, kind, amount, note = plan[p.role]
            out.append({
                "deduction_id": f"XD{p.pid[1:]}-{len(out) + 1:02d}",
                "partner_id": p.pid,
                "contract_id": f"HT{p.pid[1:]}-01",
                "kind": kind,
                "amount": amount,
                "recorded_on": self.day(month, day),
                "note": note,
            })
        return out

    def contract_rows(self) -> list[dict]:
        out = []
        for p in self.partners:
            plan = self._contracts_of(p)
            for k, c in enumerate(plan, start=1):
                row = {
                    "contract_id": f"HT{p.pid[1:]}-{k:02d}",
                    "partner_id": p.pid,
                    "start_date": c["start_date"],
                    "end_date": c["end_date"],
                    "rights_delivered": c.get("rights_delivered", True),
                    "product_launched": c.get("product_launched", True),
                    "launch_blocked_by_partner": c.get("launch_blocked_by_partner", False),
                    "qualification_ok": c.get("qualification_ok", True),
                    "exit_requested_on": c.get("exit_requested_on"),
                    "decision_on": c.get("decision_on"),
                    "signed_on": c.get("signed_on"),
                }
                out.append(row)
        return out

    def _contracts_of(self, p: _Partner) -> list[dict]:
        one_day = dt.timedelta(days=1)
        standard = {"start_date": p.coop_start, "end_date": p.coop_start + relativedelta(years=3) - one_day}
        role = p.role
        if role == 16:
            old_end = self.start - one_day
            return [
                {"start_date": p.coop_start, "end_date": old_end, "decision_on": self.start - dt.timedelta(days=42)},
                {"start_date": self.start, "end_date": self.start + relativedelta(years=1) - one_day},
            ]
        designed_end = {2: 2, 3: 4, 7: 7, 9: 4, 10: 5, 11: 6, 12: 3, 14: 6, 15: 6, 20: 5}
        if role not in designed_end:
            return [standard]
        end = self.month_end(designed_end[role])
        c: dict = {"start_date": p.coop_start, "end_date": end}
        if role == 3:
            c.update(product_launched=False, launch_blocked_by_partner=True)
        elif role == 10:
            c.update(qualification_ok=False)
        elif role == 12:
            c.update(rights_delivered=False)
        elif role == 15 and self.has_month(5):
            c.update(exit_requested_on=self.day(5, 6))
        elif role == 20 and self.has_month(3):
            c.update(exit_requested_on=self.day(3, 20))
        elif role in (2, 9, 11):
            decision = end - dt.timedelta(days=16)
            signed = decision + dt.timedelta(days=6)
            if signed <= self.period_end:
                c.update(decision_on=decision, signed_on=signed)
                return [c, {"start_date": end + one_day, "end_date": end + relativedelta(years=1)}]
        return [c]

    def issue_date_rows(self) -> list[dict]:
        calendar = WorkdayCalendar(self.policy.calendar)
        target = self.month(3)

        def nth_workday(n: int) -> dt.date:
            try:
                return calendar.nth_workday_of_month(target, n)
            except UnknownCalendarYear:  # no official calendar for that year: Monday–Friday
                day, count = target, 0
                while True:
                    if day.weekday() < 5:
                        count += 1
                        if count == n:
                            return day
                    day += dt.timedelta(days=1)

        # m1's results were issued late (1st working day of m3), m2's two working days later
        return [{"month": self.month(i), "issued_on": nth_workday(1 if i == 1 else 3)} for i in (1, 2)
                if self.has_month(i)]

    # ------------------------------------------------------------------ measure executions (SPEC v2 §5a)
    def execution_rows(self, events: list[dict]) -> list[dict]:
        """Staff carried out the 附件1 promotion suspensions: on time (the start day) but every third one 3 days
        late; the grade measures stay unexecuted so the ledger shows open and overdue rows too. The ids are the
        ``measures`` ids the chain will compute (``control:{event_id}:business:suspend_promotion``)."""
        rows = []
        suspensions = [
            e for e in events if e["event_type"] == "provincial_important_complaint" and not e["issuer_requirement"]
        ]
        for n, e in enumerate(suspensions):
            start = e["event_date"] + dt.timedelta(days=1)
            late = n % 3 == 2
            rows.append({
                "measure_id": f"control:{e['event_id']}:business:suspend_promotion",
                "executed_on": start + dt.timedelta(days=3 if late else 0),
                "executed_by": "渠道运营组",
                "note": "逾期补执行" if late else None,
            })
        return rows

    # ------------------------------------------------------------------ all tables
    def build(self) -> dict[str, list[dict]]:
        self.build_partners()
        rows: dict[str, list[dict]] = {}
        rows["partners"] = self.partner_rows()
        rows["complaint_tickets"] = self.ticket_rows()
        rows["control_events"] = self.event_rows()
        rows["importance_declarations"] = self.declaration_rows()
        business, items = self.business_and_settlement_rows()
        rows["partner_monthly_business"] = business
        rows["settlement_items"] = items
        rows["payment_holds"] = self.hold_rows()
        rows["major_violations"] = self.violation_rows()
        rows["contracts"] = self.contract_rows()
        rows["credit_issue_dates"] = self.issue_date_rows()
        rows["measure_executions"] = self.execution_rows(rows["control_events"])
        rows["exit_deductions"] = self.exit_deduction_rows()
        return {name: rows[name] for name in SOURCE_TABLES}


def _policy_for(start: dt.date) -> Policy:
    book = load_policy_book()
    try:
        return book.for_month(start)
    except PolicyError:
        return book.latest


def build_demo_rows(partners: int = 20, months: int = 6, seed: int = 42,
                    start: dt.date = dt.date(2024, 1, 1)) -> dict[str, list[dict]]:
    """The rows ``generate_demo`` would write, per source table (no database needed)."""
    if partners < 1:
        raise ValueError("partners must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    start = start.replace(day=1)
    return _Builder(partners, months, seed, start, _policy_for(start)).build()


def _chunks(rows: list[dict], size: int = INSERT_CHUNK) -> Iterable[list[dict]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _keys_digest(conn: sa.Connection, table: sa.Table) -> tuple[int, str]:
    """(row count, SHA-256 of the sorted primary keys) of a table as it is now."""
    keys = sorted("\x1f".join(str(v) for v in row) for row in conn.execute(sa.select(*table.primary_key.columns)))
    digest = hashlib.sha256("\x1e".join(keys).encode("utf-8")).hexdigest()
    return len(keys), digest


def foreign_rows(conn: sa.Connection) -> dict[str, int]:
    """Source tables holding rows the demo did not write → how many such rows (at least).

    The demo records, per table, the count and a digest of the primary keys it wrote (``demo_marks``). A table
    is the demo's own only if it still holds exactly those keys; any row loaded, added or replaced since makes
    it foreign, and so does every non-empty table without a mark (a warehouse the demo never touched).
    """
    marks = {r.table_name: r for r in conn.execute(sa.select(demo_marks))}
    out: dict[str, int] = {}
    for name, table in SOURCE_TABLES.items():
        count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if count == 0:
            continue
        mark = marks.get(name)
        if mark is None:
            out[name] = count
            continue
        if count != mark.rows:
            out[name] = abs(count - mark.rows) or count
            continue
        if _keys_digest(conn, table)[1] != mark.keys_sha256:
            out[name] = count
    return out


def _mark(conn: sa.Connection, seed: int) -> None:
    conn.execute(demo_marks.delete())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = []
    for name, table in SOURCE_TABLES.items():
        count, digest = _keys_digest(conn, table)
        rows.append({"table_name": name, "rows": count, "keys_sha256": digest, "seed": seed, "written_at": now})
    conn.execute(demo_marks.insert(), rows)


def generate_demo(
    engine: sa.Engine,
    partners: int = 20,
    months: int = 6,
    seed: int = 42,
    start: dt.date = dt.date(2024, 1, 1),
    replace: bool = False,
    progress: Callable[[str], None] | None = None,
    force: bool = False,
) -> DemoSummary:
    """Write reproducible demo data into every source table, in one transaction, and mark it as demo data.

    Raises :class:`DemoDataExists` when a source table already holds rows, unless ``replace`` is set. With
    ``replace``, the source tables (never an output table) are emptied first inside the same transaction — but
    only if every row in them is the demo's own (:func:`foreign_rows`); otherwise :class:`ForeignRows` is raised
    and nothing is deleted, unless ``force`` is set as well.
    """
    say = progress or (lambda _line: None)
    start = start.replace(day=1)
    rows = build_demo_rows(partners, months, seed, start)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        filled = [
            name for name, table in SOURCE_TABLES.items()
            if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None
        ]
        if filled and not replace:
            raise DemoDataExists(
                f"source tables already hold rows: {', '.join(filled)}; pass replace=True to replace them", filled
            )
        if filled:
            foreign = foreign_rows(conn)
            if foreign and not force:
                raise ForeignRows(foreign)
            for table in reversed(list(SOURCE_TABLES.values())):
                conn.execute(table.delete())
            say(f"已清空 {len(SOURCE_TABLES)} 个源数据表（替换）")
        for name, table in SOURCE_TABLES.items():
            n = sum(insert_rows(conn, table, chunk) for chunk in _chunks(rows[name]))
            counts[name] = n
            say(f"{name}：{n} 行")
        _mark(conn, seed)
    return DemoSummary(start=start, end=start + relativedelta(months=months - 1), rows=counts)
