"""Write sheets with openpyxl: real dates and numbers, frozen headers, CJK-aware widths, formatted for people.

Every text cell is stored as a string (``data_type = "s"``). Text that Excel would read as a formula when a user
re-enters it (leading ``=``, ``+``, ``-``, ``@``, tab or CR) also gets ``quotePrefix`` (the apostrophe-quote), so a
partner named ``=cmd|' /C calc'!A0`` or ``@SUM(A1)`` stays literal text. Control characters XML cannot hold are
dropped. The only formulas are the ones written here: the 合计 row's ``SUBTOTAL`` (which follows the filter).

Formatting: grade colours by conditional formatting, wrapped reason columns, a 图表 sheet (grades, warning tiers,
money withheld — charts that read the 总览 cells), print setup (landscape, fit to width, header repeated on every
page). The file is written to a temporary name and moved into place, so readers never see half a workbook, with
the permissions the umask gives a new file (not the temporary file's 0600).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import unicodedata
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from migu_assets.report.sheets import GRADES, OVERVIEW, SETTLEMENTS, TOTAL_LABEL, WARNINGS, Column, Sheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_FORMATS = {
    "date": "yyyy-mm-dd",
    "month": "yyyy-mm",
    "money": "#,##0.00",
    "score": "0.00",
    "int": "0",
}
MIN_WIDTH, MAX_WIDTH = 6, 60
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FONT = Font(bold=True)
HIGHLIGHT_FILL = PatternFill("solid", fgColor="FFC7CE")  # light red (Excel's "bad" style)
HIGHLIGHT_FONT = Font(color="9C0006")
WRAPPED_KEYS = {"reason", "reasons", "measures", "issuer_requirement", "clause"}
WRAP = Alignment(wrap_text=True, vertical="top")
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


def display_width(text: str) -> int:
    """Columns ``text`` takes in Excel: East Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def write_text(cell: Cell, text: str) -> None:
    """Store ``text`` as a literal string that Excel never evaluates."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.value = text
    cell.data_type = "s"  # openpyxl guesses "f" (formula) for a leading "="
    if text.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True


def _shown(value: object, kind: str) -> str:
    """Roughly what Excel shows, to size the column."""
    if isinstance(value, dt.date):
        return f"{value:%Y-%m}" if kind == "month" else f"{value:%Y-%m-%d}"
    if isinstance(value, Decimal | float) and kind in ("money", "score"):
        return f"{value:,.2f}"
    return str(value)


def write_value(cell: Cell, value: object, kind: str) -> str:
    """Write one value by kind; returns the text used for the column width."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        cell.value = value
        cell.number_format = NUMBER_FORMATS["month" if kind == "month" else "date"]
    elif isinstance(value, int | Decimal | float):
        cell.value = value  # Decimal is written as an exact number, never through text
        if kind.startswith("count:"):
            cell.number_format = f'0"{kind.split(":", 1)[1]}"'
        else:
            cell.number_format = NUMBER_FORMATS.get(kind, "General")
    else:
        write_text(cell, str(value))
    return _shown(value, kind)


def _cell_value(column: Column, row: dict) -> object:
    value = row.get(column.key)
    if column.label is not None and value is not None:
        return column.label(value)
    return value


def write_sheet(ws: Worksheet, sheet: Sheet) -> None:
    widths = [display_width(c.header) for c in sheet.columns]
    for j, column in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=1, column=j)
        write_text(cell, column.header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center")
    for i, row in enumerate(sheet.rows, start=2):
        red = sheet.highlight is not None and sheet.highlight(row)
        for j, column in enumerate(sheet.columns, start=1):
            cell = ws.cell(row=i, column=j)
            shown = write_value(cell, _cell_value(column, row), column.kind)
            if red:
                cell.fill, cell.font = HIGHLIGHT_FILL, HIGHLIGHT_FONT
            widths[j - 1] = max(widths[j - 1], display_width(shown))
    if sheet.totals:
        total_row = len(sheet.rows) + 2
        for j, column in enumerate(sheet.columns, start=1):
            if column.key in sheet.totals:
                value, kind = sheet.totals[column.key]
                cell = ws.cell(row=total_row, column=j)
                shown = write_total(cell, value, kind, j, len(sheet.rows))
                cell.font = TOTAL_FONT
                widths[j - 1] = max(widths[j - 1], display_width(shown))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
    ws.freeze_panes = "A2"
    if sheet.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{len(sheet.rows) + 1}"
    _format(ws, sheet)


def write_total(cell: Cell, value: object, kind: str, column: int, n_rows: int) -> str:
    """The 合计 cell: ``SUBTOTAL`` over the data rows, so it follows the filter (109 = SUM, 103 = COUNTA, both
    ignoring hidden rows); the label and an empty sheet's zero stay plain values."""
    if kind == "text" or n_rows == 0 or not isinstance(value, int | Decimal | float):
        return write_value(cell, value, kind)
    if kind.startswith("count:"):  # visible rows, counted on the first column (ids are never empty)
        cell.value = f"=SUBTOTAL(103,A2:A{n_rows + 1})"
        cell.number_format = f'0"{kind.split(":", 1)[1]}"'
    else:
        letter = get_column_letter(column)
        cell.value = f"=SUBTOTAL(109,{letter}2:{letter}{n_rows + 1})"
        cell.number_format = NUMBER_FORMATS.get(kind, "General")
    return _shown(value, kind)


def _format(ws: Worksheet, sheet: Sheet) -> None:
    """Wrapped reason columns, grade colours, print setup."""
    last = len(sheet.rows) + 1
    for j, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(j)
        if column.key in WRAPPED_KEYS:
            for row in range(2, last + 1):
                ws.cell(row=row, column=j).alignment = WRAP
        if column.key == "grade" and sheet.rows:
            for grade, (fill, font) in GRADE_COLOURS.items():
                ws.conditional_formatting.add(
                    f"{letter}2:{letter}{last}",
                    CellIsRule(
                        operator="equal",
                        formula=[f'"{grade}"'],
                        fill=PatternFill("solid", start_color=fill, end_color=fill),
                        font=Font(color=font, bold=grade in ("F", "TERMINATED", "终止合作")),
                    ),
                )
    _print_setup(ws)


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True


def _overview_range(ws: Worksheet, category: str) -> tuple[int, int] | None:
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == category]
    return (rows[0], rows[-1]) if rows else None


def _bar(ws: Worksheet, title: str, rows: tuple[int, int], value_col: int, y_title: str) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.legend = None
    chart.height, chart.width = 7.5, 16
    first, last = rows
    chart.add_data(Reference(ws, min_col=value_col, min_row=first, max_row=last), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=2, min_row=first, max_row=last))
    return chart


def add_charts(wb: Workbook, month_label: str = "") -> None:
    """A 图表 sheet with bar charts over the 总览 cells: partners per grade, warnings per tier, and the amounts
    by settlement status (held and stopped = money withheld). Charts read the cells, so they stay live."""
    if OVERVIEW not in wb.sheetnames:
        return
    overview = wb[OVERVIEW]
    charts = wb.create_sheet(CHARTS)
    write_text(charts.cell(row=1, column=1), f"{month_label} 图表（数据来自“总览”表）".strip())
    charts.cell(row=1, column=1).font = HEADER_FONT
    specs = [
        (GRADES, f"{month_label} 各信用评级的合作方数", 3, "家"),
        (WARNINGS, f"{month_label} 各级预警条数", 3, "条"),
        (SETTLEMENTS, f"{month_label} 各结算状态金额（暂停支付、停止结算即被扣留的金额）", 4, "元"),
    ]
    anchor_row = 3
    for category, title, col, unit in specs:
        rows = _overview_range(overview, category)
        if rows is None:
            continue
        charts.add_chart(_bar(overview, title.strip(), rows, col, unit), f"A{anchor_row}")
        anchor_row += 16
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


def add_notice(wb: Workbook, notice: str) -> None:
    """A warning people cannot miss: bold red beside the 总览 table, and the 总览 tab coloured red."""
    ws = wb[OVERVIEW] if OVERVIEW in wb.sheetnames else wb.worksheets[0]
    cell = ws.cell(row=1, column=ws.max_column + 2)
    write_text(cell, notice)
    cell.font = Font(bold=True, color="C00000")
    ws.sheet_properties.tabColor = "C00000"


def write_workbook(
    sheets: list[Sheet], path: Path, title: str = "", month_label: str = "", notice: str | None = None
) -> Path:
    """Write ``sheets`` in order to ``path`` (atomically: temporary file in the same folder, then rename)."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        write_sheet(wb.create_sheet(sheet.title), sheet)
    add_charts(wb, month_label)
    wb.calculation.fullCalcOnLoad = True  # the SUBTOTAL cells have no cached value: compute them on opening
    if notice:
        add_notice(wb, notice)
    if title:
        wb.properties.title = title
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
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
