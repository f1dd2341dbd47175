"""Chinese display names of the coded values in the output tables (the codes themselves stay in the database)."""

from __future__ import annotations

from migu_assets.rules.measures import CODE_NAMES, SOURCE_NAMES, STATUS_NAMES

GRADE_ORDER = ["A", "B", "C", "D", "E", "F", "TERMINATED"]
GRADE_NAMES = {"TERMINATED": "终止合作"}

TIER_NAMES = {1: "一级预警", 2: "二级预警", 3: "三级预警", 4: "四级预警"}

ACTION_NAMES = {"suspend_promotion": "暂停推广", "warning": "警告", "manual_per_issuer": "按发函/拨测单位要求处理"}
TARGET_NAMES = {"sub_channel": "子渠道", "business": "业务", "partner": "全部业务"}
SCOPE_NAMES = {"NATIONWIDE": "全网"}

SETTLEMENT_ORDER = ["payable", "held", "stopped"]
SETTLEMENT_NAMES = {"payable": "正常结算", "held": "暂停支付", "stopped": "停止结算"}

DECISION_ORDER = ["renew", "not_renewed", "partner_exit", "terminated", "abandoned"]
DECISION_NAMES = {
    "renew": "续约",
    "not_renewed": "不予续约",
    "partner_exit": "合作方主动退出",
    "terminated": "终止合作",
    "abandoned": "视为主动放弃",
}


# SPEC v2 §5a: the measure codes and ledger statuses, named once in the rules
MEASURE_SOURCE_NAMES = SOURCE_NAMES
MEASURE_NAMES = CODE_NAMES
MEASURE_STATUS_NAMES = STATUS_NAMES


def grade_name(grade: str) -> str:
    return GRADE_NAMES.get(grade, grade)


def tier_name(tier: int) -> str:
    return TIER_NAMES.get(int(tier), f"{tier}级预警")


def named(mapping: dict, value: object) -> str:
    """The display name of ``value``, or the value itself when it has none."""
    if value is None:
        return ""
    return mapping.get(value, str(value))
