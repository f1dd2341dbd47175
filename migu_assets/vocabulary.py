"""The domain vocabulary: every coded value of the output tables and its one Chinese name.

Rules, compute, the report, ``explain``, ``partner_status`` and the CLI all name things from here, so staff read
one word for one thing everywhere (the codes stay in the database). Numbers never live here: thresholds, periods
and which grades carry which measures are in the policy file (``migu_assets/policy``).
"""

from __future__ import annotations

from collections.abc import Mapping

# ---------------------------------------------------------------- credit grades (第十条)
TERMINATED = "TERMINATED"
GRADE_ORDER = ("A", "B", "C", "D", "E", "F", TERMINATED)
GRADE_NAMES = {TERMINATED: "终止合作"}  # A–F are the policy's own names (第十条)

# ---------------------------------------------------------------- measures a result requires (第十条, 第八条; SPEC §5a)
STOP_NEW_BUSINESS = "stop_new_business"
SUSPEND_BILLING_OR_PROMOTION = "suspend_billing_or_promotion"
SUSPEND_SETTLEMENT = "suspend_settlement"
SUSPEND_ALL_SALES = "suspend_all_sales"
TERMINATE_COOPERATION = "terminate_cooperation"
SUSPEND_PROMOTION = "suspend_promotion"
SUSPEND_NEW_CODES = "suspend_new_codes"
WARNING = "warning"
MANUAL_PER_ISSUER = "manual_per_issuer"

MEASURE_NAMES = {
    STOP_NEW_BUSINESS: "停止投放新业务代码、新产品或开展新类型合作",
    SUSPEND_BILLING_OR_PROMOTION: "暂停话费计费能力或暂停客户端推广",
    SUSPEND_SETTLEMENT: "暂停合作伙伴费用结算",
    SUSPEND_ALL_SALES: "全面暂停业务销售合作",
    TERMINATE_COOPERATION: "终止合作",
    SUSPEND_PROMOTION: "暂停推广",
    SUSPEND_NEW_CODES: "暂停代码新增",
    MANUAL_PER_ISSUER: "按发函/拨测单位要求处理",
}
GRADE_MEASURES = (STOP_NEW_BUSINESS, SUSPEND_BILLING_OR_PROMOTION, SUSPEND_SETTLEMENT, SUSPEND_ALL_SALES)

# where a measure comes from, and its execution status as of a day (SPEC v2 §5a)
MEASURE_SOURCE_NAMES = {"grade": "信用评级", "control": "管控措施", "warning": "分级预警"}
MEASURE_STATUS_NAMES = {
    "done": "已按期执行",
    "done_late": "逾期后执行",
    "superseded": "已被后续结果取代",
    "lifted": "已解除",
    "lapsed": "合作结束自然终止",
    "ended": "期满结束",
    "overdue": "逾期未执行",
    "open": "待执行",
    "active": "仍有效",
}

# ---------------------------------------------------------------- control actions (第八条, 附件1–4; SPEC §6)
ACTION_NAMES = {SUSPEND_PROMOTION: "暂停推广", WARNING: "警告", MANUAL_PER_ISSUER: "按发函/拨测单位要求处理"}
SUB_CHANNEL = "sub_channel"
BUSINESS = "business"
PARTNER = "partner"
TARGET_NAMES = {SUB_CHANNEL: "子渠道", BUSINESS: "业务", PARTNER: "全部业务"}
NATIONWIDE = "NATIONWIDE"
SCOPE_NAMES = {NATIONWIDE: "全网"}

# ---------------------------------------------------------------- warning tiers (第八条, 附件7)
TIER_NAMES = {1: "一级预警", 2: "二级预警", 3: "三级预警", 4: "四级预警"}

# ---------------------------------------------------------------- settlement statuses (第十、十五、十九、二十四条)
PAYABLE = "payable"
HELD = "held"
STOPPED = "stopped"
SETTLEMENT_ORDER = (PAYABLE, HELD, STOPPED)
SETTLEMENT_NAMES = {PAYABLE: "正常结算", HELD: "暂停支付", STOPPED: "停止结算"}

# what a partner owes at exit, deducted after the 第二十四条 clearing period (SPEC v2 §1 exit_deductions)
EXIT_DEDUCTION_KINDS = {"penalty": "违约金", "audit": "稽核核减", "unpaid_fees": "欠费", "other": "其他扣款"}

# ---------------------------------------------------------------- renewal decisions (第十六至二十五条)
RENEW = "renew"
NOT_RENEWED = "not_renewed"
PARTNER_EXIT = "partner_exit"
DECISION_TERMINATED = "terminated"
ABANDONED = "abandoned"
DECISION_ORDER = (RENEW, NOT_RENEWED, PARTNER_EXIT, DECISION_TERMINATED, ABANDONED)
DECISION_NAMES = {
    RENEW: "续约",
    NOT_RENEWED: "不予续约",
    PARTNER_EXIT: "合作伙伴主动退出",
    DECISION_TERMINATED: "终止合作",
    ABANDONED: "视为主动放弃",
}

# ---------------------------------------------------------------- strategic importance (附件5 第2项)
IMPORTANCE_ITEM_NAMES = {
    "cmcc_strategic_agreement": "与中国移动集团公司签订战略合作协议",
    "national_media_portal": "国家级、中央级媒体门户",
    "migu_strategic_agreement": "与咪咕文化、咪咕音乐签订战略合作协议",
    "listed_company_or_soe": "A股上市、其它国家地区上市、央企",
    "provincial_media_portal": "省级媒体门户",
}
BUSINESS_MEASURE_NAMES = {
    "info_fee_revenue": "当月信息费收入（分成前）",
    "migu_purchases": "购买咪咕音乐产品/服务",
    "migu_ad_spend": "投放/代理咪咕音乐广告",
}


def named(mapping: Mapping, value: object) -> str:
    """The Chinese name of ``value`` in ``mapping``, or the value itself when it has none ('' for None)."""
    if value is None:
        return ""
    return mapping.get(value, str(value))


def grade_name(grade: str | None) -> str:
    return named(GRADE_NAMES, grade)


def grade_label(grade: str | None) -> str:
    """A grade as staff say it in a sentence: "D级", "终止合作"."""
    name = grade_name(grade)
    return name if name != grade or not grade else f"{grade}级"


def tier_name(tier: int) -> str:
    return TIER_NAMES.get(int(tier), f"{tier}级预警")


def control_action_text(row: Mapping, *notes: str) -> str:
    """One control action in Chinese: who, what, where and when (``notes`` are added inside the brackets).

    e.g. ``子渠道S1暂停推广（全网，2024-03-09至2024-06-08，附件3）``; the one rendering `explain`, `partner_status`
    and the notices use.
    """
    who = named(TARGET_NAMES, row["target"])
    who += str({SUB_CHANNEL: row.get("sub_channel_id"), BUSINESS: row.get("business_id")}.get(row["target"]) or "")
    extra = f"：{row['issuer_requirement']}" if row.get("issuer_requirement") else ""
    start, end = row["start_date"], row["end_date"]
    period = f"{start}至{end}" if end else f"{start}起"
    inside = "，".join([named(SCOPE_NAMES, row["scope"]), period, *notes])
    return f"{who}{named(ACTION_NAMES, row['action'])}{extra}（{inside}）"


def measure_names(codes) -> list[str]:
    return [named(MEASURE_NAMES, c) for c in codes]
