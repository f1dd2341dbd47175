"""Small charts for the Dagster UI as Chinese markdown (``dg.MetadataValue.md``): one bar of block characters per
grade or tier, drawn by the browser's own fonts — so the labels are the vocabulary's Chinese names, with no font
package and no image library (a matplotlib PNG drew Chinese as boxes on a machine without CJK fonts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg

from migu_assets.vocabulary import GRADE_ORDER, grade_label, tier_name

WIDTH = 30  # characters of the longest bar


def bar_chart_markdown(title: str, labels: Sequence[str], values: Sequence[int], unit: str) -> str:
    """``| 项目 | 数量 | 图 |`` rows, the bar of each proportional to the largest value (a value > 0 shows ▏)."""
    top = max([1, *values])
    lines = [f"**{title}**", "", f"| 项目 | {unit} | |", "|---|---:|---|"]
    for label, value in zip(labels, values, strict=True):
        bar = "█" * round(WIDTH * value / top) or ("▏" if value else "")
        lines.append(f"| {label} | {value} | {bar} |")
    return "\n".join(lines)


def grade_chart(grades: Mapping[str, int]) -> dg.MetadataValue:
    """Partners per grade (A级 … F级, 终止合作), every grade shown even when zero."""
    order = list(GRADE_ORDER) + sorted(g for g in grades if g not in GRADE_ORDER)
    labels, values = [grade_label(g) for g in order], [grades.get(g, 0) for g in order]
    return dg.MetadataValue.md(bar_chart_markdown("各信用级别的合作方数", labels, values, "家"))


def tier_chart(tiers: Mapping[int, int]) -> dg.MetadataValue:
    """Warning-tier rows per tier (一级预警 … 四级预警)."""
    order = sorted({1, 2, 3, 4} | {int(t) for t in tiers})
    values = [tiers.get(t, 0) for t in order]
    return dg.MetadataValue.md(bar_chart_markdown("各级预警的触发次数", [tier_name(t) for t in order], values, "次"))
