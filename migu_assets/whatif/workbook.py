"""The comparison workbook (XlsxWriter, as the report; Chinese headers): 说明, 对比明细 (changes first), 评级分布."""

from __future__ import annotations

from pathlib import Path

from migu_assets.report.sheets import Column, Sheet
from migu_assets.report.xlsx import write_workbook
from migu_assets.vocabulary import SETTLEMENT_NAMES, grade_name, named
from migu_assets.whatif.compare import FIELD_NAMES, Comparison, grade_order

ABOUT, DETAIL, GRADES = "说明", "对比明细", "评级分布"
ALL_MONTHS = "全部月份"


def _settlement(value: object) -> str:
    return named(SETTLEMENT_NAMES, value)


DETAIL_COLUMNS = [
    Column("是否变化", "changed"),
    Column("变化项", "changes"),
    Column("合作方编号", "partner_id"),
    Column("合作方名称", "name"),
    Column("月份", "month", "month"),
    Column("评级（现行）", "grade_before", label=grade_name),
    Column("评级（草案）", "grade_after", label=grade_name),
    Column("信用积分（现行）", "score_before", "score"),
    Column("信用积分（草案）", "score_after", "score"),
    Column("积分差", "score_diff", "score"),
    Column("处罚措施（现行）", "measures_before"),
    Column("处罚措施（草案）", "measures_after"),
    Column("结算状态（现行）", "status_before", label=_settlement),
    Column("结算状态（草案）", "status_after", label=_settlement),
    Column("暂停/停止支付金额（现行）", "withheld_before", "money"),
    Column("暂停/停止支付金额（草案）", "withheld_after", "money"),
]

GRADE_COLUMNS = [
    Column("月份", "month"),
    Column("评级", "grade", label=grade_name),
    Column("现行政策", "before", "int"),
    Column("草案", "after", "int"),
    Column("增减", "diff", "int"),
]


def detail_rows(comparison: Comparison) -> list[dict]:
    out = []
    for r in comparison.rows:
        p, d = r.published, r.draft
        diff = d.credit_score - p.credit_score if p.credit_score is not None and d.credit_score is not None else None
        out.append(
            {
                "changed": "是" if r.changed else "否",
                "changes": "、".join(FIELD_NAMES[f] for f in r.changes),
                "partner_id": r.partner_id,
                "name": r.name,
                "month": r.month,
                "grade_before": p.grade,
                "grade_after": d.grade,
                "score_before": p.credit_score,
                "score_after": d.credit_score,
                "score_diff": diff,
                "measures_before": p.measures,
                "measures_after": d.measures,
                "status_before": p.settlement_status,
                "status_after": d.settlement_status,
                "withheld_before": p.withheld,
                "withheld_after": d.withheld,
            }
        )
    return out


def grade_rows(comparison: Comparison) -> list[dict]:
    out = []
    periods = [(f"{m:%Y-%m}", *comparison.grades_by_month[m]) for m in comparison.months]
    periods.append((ALL_MONTHS, *comparison.grade_totals()))
    for label, before, after in periods:
        for g in grade_order(before.keys() | after.keys()):
            out.append(
                {"month": label, "grade": g, "before": before[g], "after": after[g], "diff": after[g] - before[g]}
            )
    return out


def write_comparison(comparison: Comparison, about: list[tuple[str, str]], path: Path) -> Path:
    """Write the workbook to ``path``; ``about`` are the 说明 sheet's (项目, 内容) lines."""
    before, after = comparison.withheld_totals()
    details = detail_rows(comparison)
    sheets = [
        Sheet(ABOUT, [Column("项目", "key"), Column("内容", "value")], [{"key": k, "value": v} for k, v in about]),
        Sheet(
            DETAIL,
            DETAIL_COLUMNS,
            details,
            totals={
                "changed": ("合计", "text"),
                "withheld_before": (before, "money"),
                "withheld_after": (after, "money"),
            },
        ),
        Sheet(GRADES, GRADE_COLUMNS, grade_rows(comparison)),
    ]
    return write_workbook(sheets, path, title="信用政策草案试算对比")
