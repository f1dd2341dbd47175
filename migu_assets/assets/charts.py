"""Small bar charts for the Dagster UI: a PNG embedded as a markdown data URI (``dg.MetadataValue.md``).

matplotlib's Agg canvas on a standalone ``Figure`` (no pyplot global state, safe in threads); ASCII labels only,
so no Chinese font is needed. The PNG stays well under 30 KB.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import dagster as dg

from migu_assets.vocabulary import GRADE_ORDER, TERMINATED

GRADE_LABELS = {TERMINATED: "TERM"}  # ASCII: the chart needs no Chinese font
GRADE_COLOURS = ["#2e7d32", "#66bb6a", "#fdd835", "#fb8c00", "#e53935", "#8e24aa", "#424242"]
TIER_COLOURS = ["#fdd835", "#fb8c00", "#e53935", "#8e24aa"]


def bar_chart_png(labels: Sequence[str], values: Sequence[int], title: str, colours: Sequence[str] = ()) -> bytes:
    """A ~4×2.4 inch bar chart at 72 dpi, value printed on each bar."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(4, 2.4), dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    bars = ax.bar(list(labels), list(values), color=list(colours) or None)
    ax.bar_label(bars, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.set_ylim(0, max([1, *values]) * 1.2)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def grade_chart(grades: Mapping[str, int]) -> dg.MetadataValue:
    """Partners per grade (A … F, TERM), every grade shown even when zero."""
    order = list(GRADE_ORDER) + sorted(g for g in grades if g not in GRADE_ORDER)
    labels = [GRADE_LABELS.get(g, g) for g in order]
    colours = (GRADE_COLOURS + ["#9e9e9e"] * len(order))[: len(order)]
    png = bar_chart_png(labels, [grades.get(g, 0) for g in order], "Partners by credit grade", colours)
    return dg.MetadataValue.md(markdown_image(png, "grades"))


def tier_chart(tiers: Mapping[int, int]) -> dg.MetadataValue:
    """Warning-tier rows per tier (T1 … T4)."""
    order = sorted({1, 2, 3, 4} | {int(t) for t in tiers})
    colours = (TIER_COLOURS + ["#9e9e9e"] * len(order))[: len(order)]
    png = bar_chart_png([f"T{t}" for t in order], [tiers.get(t, 0) for t in order], "Warning tiers reached", colours)
    return dg.MetadataValue.md(markdown_image(png, "tiers"))
