"""Write sheets with XlsxWriter: real dates and numbers, frozen headers, CJK-aware widths, formatted for people.

Why XlsxWriter and not openpyxl (which still reads XLSX input, :mod:`migu_assets.loader`): the report is written
once per computed month, and a full-size month (5,000 partners: ~20,000 rows, ~300,000 cells) took 7.7 s in
openpyxl — most of it registering a style per cell — against ~2.9 s here, where every cell format is made once per
sheet (BENCHMARKS.md, issue 14).

Every text cell is stored as a string (``write_string``, never parsed). Text that Excel would read as a formula
when a user re-enters it (leading ``=``, ``+``, ``-``, ``@``, tab or CR) also gets ``quotePrefix`` (the
apostrophe-quote), so a partner named ``=cmd|' /C calc'!A0`` or ``@SUM(A1)`` stays literal text. Control
characters XML cannot hold are dropped. The only formulas are the ones written here: the 合计 row's ``SUBTOTAL``
(which follows the filter). Amounts are written as numbers (Excel stores doubles; XlsxWriter writes the shortest
text that reads back as the same double, so a cent amount of up to 15 digits is shown exactly).

Formatting: grade colours by conditional formatting, wrapped reason columns, a 图表 sheet (grades, warning tiers,
money withheld — charts that read the 总览 cells), print setup (landscape, fit to width, header repeated on every
page). The file is written to a temporary name and moved into place, so readers never see half a workbook, with
the permissions the umask gives a new file (not the temporary file's 0600).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from migu_assets.report.sheets import GRADES, OVERVIEW, SETTLEMENTS, TOTAL_LABEL, WARNINGS, Sheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # C0 controls XML 1.0 cannot hold
NUMBER_FORMATS = {
    "date": "yyyy-mm-dd",
    "month": "yyyy-mm",
    "money": "#,##0.00",
    "score": "0.00",
    "int": "0",
}
MIN_WIDTH, MAX_WIDTH = 6, 60
HEADER = {"bold": True, "bg_color": "#DDEBF7", "pattern": 1, "valign": "vcenter"}
TOTAL = {"bold": True}
HIGHLIGHT = {"bg_color": "#FFC7CE", "pattern": 1, "font_color": "#9C0006"}  # light red (Excel's "bad" style)
WRAPPED_KEYS = {"reason", "reasons", "measures", "issuer_requirement", "clause"}
WRAP = {"text_wrap": True, "valign": "top"}
# Grade → fill and font colour, green (A) to dark red (终止合作); matched on the text the cell shows.
GRADE_COLOURS = {
    "A": ("C6EFCE", "006100"),
    "B": ("E2EFDA", "375623"),
    "C": ("FFF2CC", "7F6000"),
    "D": ("FCE4D6", "833C0C"),
    "E": ("F8CBAD", "833C0C"),
    "F": ("FFC7CE", "9C0006"),
    "TERMINATED": ("C00000", "FFFFFF"),
    "终止合作": ("C00000", "FFFFFF"),
}
CHARTS = "图表"
CHART_SIZE = {"width": 605, "height": 284}  # 16 × 7.5 cm at 96 dpi
CHART_ROWS = 16  # rows between two charts' anchors


@lru_cache(maxsize=65536)  # names, measures and reasons repeat on every sheet and row
def display_width(text: str) -> int:
    """Columns ``text`` takes in Excel: East Asian wide and full-width characters count 2."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def clean_text(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _shown(value: object, kind: str) -> str:
    """Roughly what Excel shows, to size the column."""
    if isinstance(value, dt.date):
        return f"{value:%Y-%m}" if kind == "month" else f"{value:%Y-%m-%d}"
    if isinstance(value, Decimal | float) and kind in ("money", "score"):
        return f"{value:,.2f}"
    return str(value)


def _number_format(kind: str) -> str | None:
    if kind.startswith("count:"):
        return f'0"{kind.split(":", 1)[1]}"'
    return NUMBER_FORMATS.get(kind)


class Formats:
    """The workbook's cell formats, each made once (XlsxWriter formats are shared objects, not per-cell styles)."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self._cache: dict[tuple, object] = {}

    def get(self, *, num_format: str | None = None, wrap: bool = False, red: bool = False, bold: bool = False,
            quote: bool = False, header: bool = False):
        key = (num_format, wrap, red, bold, quote, header)
        if key not in self._cache:
            props: dict = {}
            if header:
                props.update(HEADER)
            if num_format:
                props["num_format"] = num_format
            if wrap:
                props.update(WRAP)
            if red:
                props.update(HIGHLIGHT)
            if bold:
                props["bold"] = True
            if quote:
                props["quote_prefix"] = True
            self._cache[key] = self.wb.add_format(props) if props else None
        return self._cache[key]


def write_text(ws: Worksheet, row: int, col: int, text: str, formats: Formats, **style) -> str:
    """Store ``text`` as a literal string that Excel never evaluates; returns the text written."""
    text = clean_text(text)
    ws.write_string(row, col, text, formats.get(quote=text.startswith(FORMULA_TRIGGERS), **style))
    return text


@dataclass(frozen=True)
class CellFormats:
    """The formats one cell style needs, by what the value turns out to be (looked up once per column and style)."""

    text: Format | None
    quoted: Format | None  # text Excel would read as a formula
    number: Format | None
    date: Format | None

    @classmethod
    def of(cls, formats: Formats, kind: str, **style) -> CellFormats:
        date_format = NUMBER_FORMATS["month" if kind == "month" else "date"]
        return cls(formats.get(**style), formats.get(quote=True, **style),
                   formats.get(num_format=_number_format(kind), **style), formats.get(num_format=date_format, **style))


def write_value(ws: Worksheet, row: int, col: int, value: object, kind: str, cell: CellFormats) -> str:
    """Write one value by kind (0-based row and column); returns the text used for the column width."""
    if value is None:
        if cell.text is not None:
            ws.write_blank(row, col, None, cell.text)
        return ""
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, dt.date):
        ws.write_datetime(row, col, value.replace(tzinfo=None) if isinstance(value, dt.datetime) else value, cell.date)
        return "yyyy-mm" if kind == "month" else "yyyy-mm-dd"  # as wide as what Excel shows
    if isinstance(value, int | Decimal | float):
        ws.write_number(row, col, float(value), cell.number)
        return _shown(value, kind)
    text = clean_text(str(value))
    ws.write_string(row, col, text, cell.quoted if text.startswith(FORMULA_TRIGGERS) else cell.text)
    return text


def _row_writer(ws: Worksheet, sheet: Sheet, formats: Formats):
    """A function writing one data row, with every column's formats looked up once (the hot loop of a report).

    Cells are dispatched on their exact type, the common ones (``str``, ``Decimal``, ``int``, ``float``, ``bool``)
    written here and everything else by :func:`write_value`, with the same result: text that is already printable
    holds no control character, so it skips :func:`clean_text`. A full-size month is 330,000–380,000 cells, so this
    loop is measured against bare XlsxWriter writing the same cells (``bench.report``, BENCHMARKS.md)."""
    write_string, write_number, write_blank = ws.write_string, ws.write_number, ws.write_blank
    plans = []
    for column in sheet.columns:
        wrap = column.key in WRAPPED_KEYS
        plain, red = (CellFormats.of(formats, column.kind, wrap=wrap, red=r) for r in (False, True))
        plans.append((column.key, column.label, column.kind, plain, red))

    def write_row(i: int, row: dict, red: bool, widths: list[int]) -> None:
        get = row.get
        for j, (key, label, kind, plain, highlighted) in enumerate(plans):
            cell = highlighted if red else plain
            value = get(key)
            if label is not None and value is not None:
                value = label(value)
            cls = type(value)
            if cls is str or cls is bool:
                text = ("是" if value else "否") if cls is bool else value if value.isprintable() else clean_text(value)
                write_string(i, j, text, cell.quoted if text.startswith(FORMULA_TRIGGERS) else cell.text)
                shown = text
            elif cls is Decimal or cls is int or cls is float:
                write_number(i, j, float(value), cell.number)
                shown = _shown(value, kind)
            elif value is None:
                if cell.text is not None:
                    write_blank(i, j, None, cell.text)
                continue
            else:  # dates, and any other type, as write_value writes them
                shown = write_value(ws, i, j, value, kind, cell)
            if widths[j] < MAX_WIDTH and 2 * len(shown) > widths[j]:  # n characters are at most 2n columns wide
                widths[j] = max(widths[j], display_width(shown))

    return write_row


def write_sheet(ws: Worksheet, sheet: Sheet, formats: Formats) -> None:
    widths = [display_width(c.header) for c in sheet.columns]
    for j, column in enumerate(sheet.columns):
        write_text(ws, 0, j, column.header, formats, header=True)
    write_row = _row_writer(ws, sheet, formats)
    highlight = sheet.highlight
    for i, row in enumerate(sheet.rows, start=1):
        write_row(i, row, highlight is not None and bool(highlight(row)), widths)
    n = len(sheet.rows)
    if sheet.totals:
        for j, column in enumerate(sheet.columns):
            if column.key in sheet.totals:
                value, kind = sheet.totals[column.key]
                shown = write_total(ws, n + 1, j, value, kind, n, formats)
                widths[j] = max(widths[j], display_width(shown))
    for j, width in enumerate(widths):
        ws.set_column(j, j, min(MAX_WIDTH, max(MIN_WIDTH, width + 2)))
    ws.freeze_panes(1, 0)
    if sheet.rows:
        ws.autofilter(0, 0, n, len(sheet.columns) - 1)
    _grade_colours(ws, sheet, formats)
    _print_setup(ws)


def write_total(ws: Worksheet, row: int, col: int, value: object, kind: str, n_rows: int, formats: Formats) -> str:
    """The 合计 cell: ``SUBTOTAL`` over the data rows, so it follows the filter (109 = SUM, 103 = COUNTA, both
    ignoring hidden rows); the label and an empty sheet's zero stay plain values."""
    if kind == "text" or n_rows == 0 or not isinstance(value, int | Decimal | float):
        return write_value(ws, row, col, value, kind, CellFormats.of(formats, kind, bold=True))
    if kind.startswith("count:"):  # visible rows, counted on the first column (ids are never empty)
        formula = f"=SUBTOTAL(103,A2:A{n_rows + 1})"
    else:
        letter = xl_col_to_name(col)
        formula = f"=SUBTOTAL(109,{letter}2:{letter}{n_rows + 1})"
    ws.write_formula(row, col, formula, formats.get(num_format=_number_format(kind), bold=True))
    return _shown(value, kind)


def _grade_colours(ws: Worksheet, sheet: Sheet, formats: Formats) -> None:
    """Grade colours by conditional formatting on the text the cell shows."""
    if not sheet.rows:
        return
    for j, column in enumerate(sheet.columns):
        if column.key != "grade":
            continue
        for grade, (fill, font) in GRADE_COLOURS.items():
            fmt = formats.wb.add_format({"bg_color": f"#{fill}", "pattern": 1, "font_color": f"#{font}",
                                         "bold": grade in ("F", "TERMINATED", "终止合作")})
            ws.conditional_format(1, j, len(sheet.rows), j,
                                  {"type": "cell", "criteria": "==", "value": f'"{grade}"', "format": fmt})


def _print_setup(ws: Worksheet) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    ws.repeat_rows(0)
    ws.hide_gridlines(0)  # gridlines on screen and on paper


def _overview_range(sheet: Sheet, category: str) -> tuple[int, int] | None:
    """0-based first and last worksheet rows of ``category`` in the 总览 sheet (row 0 is the header)."""
    rows = [i for i, row in enumerate(sheet.rows, start=1) if row["category"] == category]
    return (rows[0], rows[-1]) if rows else None


def add_charts(wb: Workbook, overview: Sheet | None, formats: Formats, month_label: str = "") -> None:
    """A 图表 sheet with bar charts over the 总览 cells: partners per grade, warnings per tier, and the amounts
    by settlement status (held and stopped = money withheld). Charts read the cells, so they stay live."""
    if overview is None:
        return
    charts = wb.add_worksheet(CHARTS)
    write_text(charts, 0, 0, f"{month_label} 图表（数据来自“总览”表）".strip(), formats, bold=True)
    specs = [
        (GRADES, f"{month_label} 各信用评级的合作方数", 2, "家"),
        (WARNINGS, f"{month_label} 各级预警条数", 2, "条"),
        (SETTLEMENTS, f"{month_label} 各结算状态金额（暂停支付、停止结算即被扣留的金额）", 3, "元"),
    ]
    anchor = 2
    for category, title, col, unit in specs:
        rows = _overview_range(overview, category)
        if rows is None:
            continue
        first, last = rows
        chart = wb.add_chart({"type": "column"})
        chart.add_series({
            "values": [OVERVIEW, first, col, last, col],
            "categories": [OVERVIEW, first, 1, last, 1],
        })
        chart.set_title({"name": title.strip()})
        chart.set_y_axis({"name": unit})
        chart.set_legend({"none": True})
        chart.set_size(CHART_SIZE)
        charts.insert_chart(anchor, 0, chart)
        anchor += CHART_ROWS
    _print_setup(charts)


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:  # pragma: no cover - not Linux
        pass
    mask = os.umask(0o022)  # pragma: no cover
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def _notice(wb: Workbook, worksheets: dict[str, Worksheet], sheets: list[Sheet], notice: str, formats: Formats) -> None:
    """A warning people cannot miss: bold red beside the 总览 table, and the 总览 tab coloured red."""
    title = OVERVIEW if OVERVIEW in worksheets else sheets[0].title
    sheet = next(s for s in sheets if s.title == title)
    ws = worksheets[title]
    fmt = wb.add_format({"bold": True, "font_color": "#C00000"})
    ws.write_string(0, len(sheet.columns) + 1, clean_text(notice), fmt)
    ws.set_tab_color("#C00000")


def write_workbook(
    sheets: list[Sheet], path: Path, title: str = "", month_label: str = "", notice: str | None = None
) -> Path:
    """Write ``sheets`` in order to ``path`` (atomically: temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        # the SUBTOTAL cells carry no cached value; XlsxWriter marks the workbook fullCalcOnLoad, so Excel computes them
        wb = xlsxwriter.Workbook(tmp, {"strings_to_numbers": False, "strings_to_formulas": False,
                                       "strings_to_urls": False})
        formats = Formats(wb)
        worksheets = {}
        for sheet in sheets:
            worksheets[sheet.title] = ws = wb.add_worksheet(sheet.title)
            write_sheet(ws, sheet, formats)
        add_charts(wb, next((s for s in sheets if s.title == OVERVIEW), None), formats, month_label)
        if notice:
            _notice(wb, worksheets, sheets, notice, formats)
        if title:
            wb.set_properties({"title": title})
        wb.close()
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would hide the report from colleagues
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = [
    "CHARTS",
    "TOTAL_LABEL",
    "add_charts",
    "current_umask",
    "display_width",
    "write_sheet",
    "write_text",
    "write_total",
    "write_value",
    "write_workbook",
]
