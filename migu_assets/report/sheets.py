"""What each sheet of the monthly report shows: Chinese headers, value kinds, totals and the 总览 counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from migu_assets import vocabulary as L
from migu_assets.report.data import MonthData

OVERVIEW = "总览"
GRADES = "信用评级"
WARNINGS = "预警处罚"
CONTROLS = "管控措施"
SETTLEMENTS = "结算"
RENEWALS = "续约"
LEDGER = "执行台账"
SHEET_NAMES = [OVERVIEW, GRADES, WARNINGS, CONTROLS, SETTLEMENTS, RENEWALS, LEDGER]
TOTAL_LABEL = "合计"
POLICY = "适用政策"


@dataclass(frozen=True)
class Column:
    """``kind``: text | date | month | money | score | int | bool | count:<unit> (how the value is written)."""

    header: str
    key: str
    kind: str = "text"
    label: Callable[[object], str] | None = None


@dataclass
class Sheet:
    title: str
    columns: list[Column]
    rows: list[dict]
    totals: dict[str, tuple[object, str]] = field(default_factory=dict)  # key → (value, kind) of the 合计 row
    highlight: Callable[[dict], bool] | None = None  # rows drawn red (执行台账: overdue measures)


def _yes_no(value: object) -> str:
    return "是" if value else "否"


def _money_sum(rows: list[dict], key: str) -> Decimal:
    return sum((r[key] for r in rows if r[key] is not None), Decimal("0.00"))


PARTNER = [Column("合作方编号", "partner_id"), Column("合作方名称", "name"), Column("月份", "month", "month")]
CLAUSE_REASON = [Column("条款", "clause"), Column("原因", "reason")]

GRADE_COLUMNS = [
    *PARTNER,
    Column("信用积分", "credit_score", "score"),
    Column("计分月数", "months_used", "int"),
    Column("评级", "grade", label=L.grade_name),
    Column("处罚措施", "measures"),
    Column("下发日期", "issued_on", "date"),
    Column("处理截止日", "due_on", "date"),
    Column("取代月份", "supersedes_month", "month"),
    Column("有效评级", "grade_in_force", label=L.grade_name),
    *CLAUSE_REASON,
    Column("政策版本", "policy_version"),
]
WARNING_COLUMNS = [
    *PARTNER,
    Column("预警等级", "tier", label=L.tier_name),
    Column("月累计通报次数", "monthly_notifications", "int"),
    Column("触发日期", "trigger_date", "date"),
    Column("暂停推广起", "promotion_suspended_from", "date"),
    Column("暂停推广止", "promotion_suspended_until", "date"),
    Column("暂停代码新增起", "code_suspended_from", "date"),
    Column("暂停代码新增止", "code_suspended_until", "date"),
    *CLAUSE_REASON,
]
CONTROL_COLUMNS = [
    *PARTNER,
    Column("业务编号", "business_id"),
    Column("子渠道编号", "sub_channel_id"),
    Column("管控对象", "target", label=lambda v: L.named(L.TARGET_NAMES, v)),
    Column("处罚措施", "action", label=lambda v: L.named(L.ACTION_NAMES, v)),
    Column("范围", "scope", label=lambda v: L.named(L.SCOPE_NAMES, v)),
    Column("开始日期", "start_date", "date"),
    Column("结束日期", "end_date", "date"),
    Column("来源事件", "source_event_id"),
    Column("发函要求", "issuer_requirement"),
    Column("措施编号", "action_id"),
    *CLAUSE_REASON,
]
MONEY_KEYS = [
    "gross", "partner_share", "deductions", "carried_in", "net", "payable", "carried_out",
    "held_in", "withheld", "released", "exit_deducted", "paid", "held_balance",
]  # fmt: skip
SETTLEMENT_COLUMNS = [
    *PARTNER,
    Column("信息费", "gross", "money"),
    Column("合作方分成", "partner_share", "money"),
    Column("扣减", "deductions", "money"),
    Column("上月结转", "carried_in", "money"),
    Column("净额", "net", "money"),
    Column("应付金额", "payable", "money"),
    Column("结转下月", "carried_out", "money"),
    # the ledger (SPEC v2 §7): what is withheld, released, deducted at exit, actually paid, and still held
    Column("上月累计暂扣", "held_in", "money"),
    Column("本月暂扣", "withheld", "money"),
    Column("本月释放", "released", "money"),
    Column("退出扣款", "exit_deducted", "money"),
    Column("本月实付", "paid", "money"),
    Column("累计暂扣", "held_balance", "money"),
    Column("结算状态", "status", label=lambda v: L.named(L.SETTLEMENT_NAMES, v)),
    *CLAUSE_REASON,
]
RENEWAL_COLUMNS = [
    Column("合同编号", "contract_id"),
    *PARTNER,
    Column("合同到期日", "end_date", "date"),
    Column("续约决定", "decision", label=lambda v: L.named(L.DECISION_NAMES, v)),
    Column("禁止重新合作至", "reentry_banned_until", "date"),
    Column("退出申请逾期", "late_notice", label=_yes_no),
    Column("条款", "clause"),
    Column("原因", "reasons"),
]
LEDGER_COLUMNS = [
    *PARTNER,
    Column("措施编号", "measure_id"),
    Column("来源", "source", label=lambda v: L.named(L.MEASURE_SOURCE_NAMES, v)),
    Column("处罚措施", "code", label=lambda v: L.named(L.MEASURE_NAMES, v)),
    Column("执行截止日", "due_on", "date"),
    Column("处罚期止", "ends_on", "date"),
    Column("执行日期", "executed_on", "date"),
    Column("执行人", "executed_by"),
    Column("状态", "status", label=lambda v: L.named(L.MEASURE_STATUS_NAMES, v)),
    Column("逾期工作日", "working_days_overdue", "int"),
    Column("取代月份", "superseded_by_month", "month"),
    Column("解除月份", "lifted_by_month", "month"),
    Column("合作结束日", "lapsed_on", "date"),
    Column("有效评级", "grade_in_force", label=L.grade_name),
    Column("截至日期", "as_of", "date"),
    *CLAUSE_REASON,
]
OVERVIEW_COLUMNS = [
    Column("类别", "category"),
    Column("项目", "item"),
    Column("数量", "count", "int"),
    Column("金额（元）", "amount", "money"),
]


def _count_total(first_key: str, second_key: str, n: int, unit: str) -> dict[str, tuple[object, str]]:
    return {first_key: (TOTAL_LABEL, "text"), second_key: (n, f"count:{unit}")}


def overview_rows(data: MonthData) -> list[dict]:
    """The policy version in force, then counts by grade, warning tier, control action, settlement status (with
    Σ payable), renewal decision and measure status in the 执行台账 (SPEC v2 §5a)."""
    rows: list[dict] = []
    if data.policy is not None:
        p = data.policy
        item = f"v{p.version} {p.document}（{p.effective_from:%Y-%m-%d}起适用）"
        rows.append({"category": POLICY, "item": item, "count": None, "amount": None})

    def section(category: str, counter: Counter, order: list, name, amounts: dict | None = None) -> None:
        keys = list(order) + sorted((k for k in counter if k not in order), key=str)
        for key in keys:
            row = {"category": category, "item": name(key), "count": counter.get(key, 0), "amount": None}
            if amounts is not None:
                row["amount"] = amounts.get(key, Decimal("0.00"))
            rows.append(row)

    section(GRADES, Counter(r["grade"] for r in data.credit_grades), L.GRADE_ORDER, L.grade_name)
    section(WARNINGS, Counter(int(r["tier"]) for r in data.warning_tiers), sorted(L.TIER_NAMES), L.tier_name)
    section(
        CONTROLS,
        Counter(r["action"] for r in data.control_actions),
        list(L.ACTION_NAMES),
        lambda v: L.named(L.ACTION_NAMES, v),
    )
    payable: dict[str, Decimal] = {}
    for r in data.settlements:
        payable[r["status"]] = payable.get(r["status"], Decimal("0.00")) + r["payable"]
    section(
        SETTLEMENTS,
        Counter(r["status"] for r in data.settlements),
        L.SETTLEMENT_ORDER,
        lambda v: L.named(L.SETTLEMENT_NAMES, v),
        payable,
    )
    section(
        RENEWALS,
        Counter(r["decision"] for r in data.renewal_decisions),
        L.DECISION_ORDER,
        lambda v: L.named(L.DECISION_NAMES, v),
    )
    section(
        LEDGER,
        Counter(r["status"] for r in data.measure_ledger),
        list(L.MEASURE_STATUS_NAMES),
        lambda v: L.named(L.MEASURE_STATUS_NAMES, v),
    )
    return rows


def build_sheets(data: MonthData) -> list[Sheet]:
    """The seven sheets in workbook order; detail sheets end with a 合计 row (counts, and sums of money).

    执行台账 (SPEC v2 §5a) lists the measures of the month and the earlier ones still open or overdue, as of the
    report's day; overdue rows are red.
    """

    def counted(title: str, columns: list[Column], rows: list[dict], unit: str, first: str = "partner_id") -> Sheet:
        second = columns[[c.key for c in columns].index(first) + 1].key
        return Sheet(title, columns, rows, _count_total(first, second, len(rows), unit))

    settlements = counted(SETTLEMENTS, SETTLEMENT_COLUMNS, data.settlements, "家")
    ledger = counted(LEDGER, LEDGER_COLUMNS, data.measure_ledger, "项")
    ledger.highlight = lambda row: row.get("status") == "overdue"
    settlements.totals.update({k: (_money_sum(data.settlements, k), "money") for k in MONEY_KEYS})
    return [
        Sheet(OVERVIEW, OVERVIEW_COLUMNS, overview_rows(data)),
        counted(GRADES, GRADE_COLUMNS, data.credit_grades, "家"),
        counted(WARNINGS, WARNING_COLUMNS, data.warning_tiers, "条"),
        counted(CONTROLS, CONTROL_COLUMNS, data.control_actions, "条"),
        settlements,
        counted(RENEWALS, RENEWAL_COLUMNS, data.renewal_decisions, "条", first="contract_id"),
        ledger,
    ]
