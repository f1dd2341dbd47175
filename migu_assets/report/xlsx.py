"""Write sheets with openpyxl: real dates and numbers, frozen headers, CJK-aware widths, and never a formula.

Every text cell is stored as a string (``data_type = "s"``). Text that Excel would read as a formula when a user
re-enters it (leading ``=``, ``+``, ``-``, ``@``, tab or CR) also gets ``quotePrefix`` (the apostrophe-quote), so a
partner named ``=cmd|' /C calc'!A0`` or ``@SUM(A1)`` stays literal text. Control characters XML cannot hold are
dropped. The file is written to a temporary name and moved into place, so readers never see half a workbook.
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
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from migu_assets.report.sheets import TOTAL_LABEL, Column, Sheet

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
                shown = write_value(cell, value, kind)
                cell.font = TOTAL_FONT
                widths[j - 1] = max(widths[j - 1], display_width(shown))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
    ws.freeze_panes = "A2"
    if sheet.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{len(sheet.rows) + 1}"


def write_workbook(sheets: list[Sheet], path: Path, title: str = "") -> Path:
    """Write ``sheets`` in order to ``path`` (atomically: temporary file in the same folder, then rename)."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        write_sheet(wb.create_sheet(sheet.title), sheet)
    if title:
        wb.properties.title = title
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = ["TOTAL_LABEL", "display_width", "write_text", "write_value", "write_sheet", "write_workbook"]
