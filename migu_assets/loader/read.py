"""Read a CSV or XLSX file into a frame of text cells — nothing is interpreted here.

Every cell is a ``str`` or ``None`` (empty). The frame's columns are the header row as written; ``row_numbers``
gives each data row's number in the file (header = row 1, first data row = row 2). Blank rows are dropped but
keep the numbering of the rows after them. XLSX formulas are never evaluated: a formula cell yields its formula
text (``=SUM(A1)``), exactly as a text cell that happens to start with ``=`` or ``@``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from migu_assets.loader.errors import LoadError

CSV_SUFFIXES = {".csv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_TIME_FORMAT = re.compile(r"[hs]", re.IGNORECASE)


@dataclass(frozen=True)
class RawTable:
    header: list[str]
    rows: list[list[str | None]]
    row_numbers: list[int]


def read_file(path: Path) -> RawTable:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    try:
        if suffix in CSV_SUFFIXES:
            return _read_csv(path)
        if suffix in XLSX_SUFFIXES:
            return _read_xlsx(path)
    except OSError as exc:
        raise LoadError(f"{path}: cannot read the file: {exc}") from None
    raise LoadError(f"{path}: unsupported file type {suffix or '(none)'}; use .csv (UTF-8) or .xlsx")


def _as_text(value: Any, number_format: str | None = None) -> str | None:
    """A cell value as text, never evaluated (an XLSX formula stays its formula text). Dates keep their time only
    if it is not midnight or the cell's number format shows a time."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN, e.g. from a frame read with pandas defaults
            return None
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and not _TIME_FORMAT.search(number_format or ""):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return getattr(value, "text", None) or str(value)  # array / data-table formulas: their formula text


def cell_text(value: Any, number_format: str | None = None) -> str | None:
    """One cell as stripped text; empty → ``None``."""
    text = _as_text(value, number_format)
    return (text.strip() or None) if text is not None else None


def raw_table(header_cells: list[Any], body: list[tuple[int, list[Any]]]) -> RawTable:
    """Header and ``(row number, cells)`` → a RawTable of stripped text; blank rows dropped, short rows padded."""
    header = [cell_text(h) or "" for h in header_cells]
    width = len(header)
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    for number, cells in body:
        texts = [cell_text(c) for c in cells[:width]]
        if any(t is not None for t in texts):
            rows.append(texts + [None] * (width - len(texts)))
            numbers.append(number)
    return RawTable(header, rows, numbers)


def _read_csv(path: Path) -> RawTable:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # UTF-8, with or without BOM
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"{path}: the file is not UTF-8 encoded (byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid "
            "UTF-8); save it as 'CSV UTF-8' and load it again"
        ) from None
    if not text.strip():
        raise LoadError(f"{path}: the file is empty; row 1 must be the header")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, header=None, skip_blank_lines=False,
                         na_filter=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise LoadError(f"{path}: not a readable CSV file: {exc}") from None
    records = df.to_numpy(dtype=object).tolist()
    return raw_table(records[0], list(enumerate(records[1:], start=2)))


def _read_xlsx(path: Path) -> RawTable:
    try:
        cells = _xlsx_cells(path)
    except Exception as exc:  # a damaged workbook: see _xlsx_cells
        raise LoadError(f"{path}: not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    lines = [(number, [cell_text(value, number_format) for value, number_format in row])
             for number, row in enumerate(cells, start=1)]
    if not lines or not any(v is not None for v in lines[0][1]):
        raise LoadError(f"{path}: the first sheet has no header in row 1")
    return raw_table(lines[0][1], lines[1:])


def _xlsx_cells(path: Path) -> list[list[tuple[Any, str | None]]]:
    """``(value, number format)`` of every cell of the first sheet, row by row. The sheet is read lazily, after the
    workbook opened, so a damaged file can fail here in any of the ways openpyxl, zipfile, zlib and the XML parser
    fail (InvalidFileException, BadZipFile, zlib.error, EOFError, NotImplementedError, XML syntax errors, …)."""
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # do not trust the stored sheet size
        return [[(c.value, getattr(c, "number_format", None)) for c in row] for row in sheet.iter_rows()]
    finally:
        workbook.close()
