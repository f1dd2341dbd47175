"""Cell text → typed value, by the column's type in the data contract (SPEC preamble and §1).

Every cell arrives as text (or ``None`` for an empty cell). A cell that does not parse becomes :class:`Invalid`,
which carries the reason; the validation engine reports it and every other rule skips it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from migu_assets.warehouse.schema import ExactDecimal

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROW = "__row__"  # the typed frame's extra column: each row's number in the file

Kind = Literal["text", "bool", "date", "timestamp", "decimal", "int"]

TRUE_WORDS = frozenset({"true", "1", "yes", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "否"})
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)  # ASCII: no full-width digits (１２.５)
_INT = re.compile(r"[+-]?\d+", re.ASCII)


@dataclass(frozen=True, slots=True)
class Invalid:
    """A cell whose text is not a value of the column's type."""

    raw: str
    reason: str


@dataclass(frozen=True)
class ColumnType:
    """The file-level type of one contract column, derived from its SQLAlchemy type in ``schema.py``."""

    kind: Kind
    max_length: int | None = None  # text: String(n)
    precision: int | None = None  # decimal: NUMERIC(p, s)
    scale: int | None = None
    int_range: tuple[int, int] | None = None

    def describe(self) -> str:
        return {
            "text": "text" + (f" of at most {self.max_length} characters" if self.max_length else ""),
            "bool": "a boolean (true/false, 1/0, yes/no, 是/否)",
            "date": "an ISO date YYYY-MM-DD",
            "timestamp": "an ISO 8601 timestamp such as 2024-01-03T10:00:00 or 2024-01-03T10:00:00+08:00",
            "decimal": f"a decimal number with at most {self.scale} decimals",
            "int": "a whole number",
        }[self.kind]


def column_type(column: sa.Column) -> ColumnType:
    """Map a SQLAlchemy column type to its file-level type (order matters: ExactDecimal is not a String)."""
    t = column.type
    if isinstance(t, ExactDecimal):
        return ColumnType("decimal", precision=t.impl.precision, scale=t.scale)
    if isinstance(t, sa.Boolean):
        return ColumnType("bool")
    if isinstance(t, sa.DateTime):
        return ColumnType("timestamp")
    if isinstance(t, sa.Date):
        return ColumnType("date")
    if isinstance(t, sa.BigInteger):
        return ColumnType("int", int_range=INT64)
    if isinstance(t, sa.Integer):
        return ColumnType("int", int_range=INT32)
    if isinstance(t, sa.String):  # Text is a String without length
        return ColumnType("text", max_length=t.length)
    raise TypeError(f"the loader has no file type for column {column.table.name}.{column.name} ({t!r})")


SHOW_MAX = 80


def show(value: Any) -> str:
    """A value as an operator reads it in a message (long text cut to ``SHOW_MAX`` characters)."""
    raw = value.raw if isinstance(value, Invalid) else value
    if isinstance(raw, str) and len(raw) > SHOW_MAX:
        return f"{raw[:SHOW_MAX]!r}…({len(raw)} characters)"
    return _show(value)


def _show(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, Invalid):
        return repr(value.raw)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | Decimal | int):
        return str(value)
    return repr(str(value))


# ---------------------------------------------------------------- parsers: text → value, ValueError(reason) if not


def _text(ct: ColumnType, s: str) -> str:
    nul = s.find("\x00")  # PostgreSQL cannot store a NUL (psycopg2 raises ValueError); SQLite would keep it silently
    if nul >= 0:
        raise ValueError(f"text contains a NUL character (0x00) at position {nul + 1}; remove it")
    if ct.max_length is not None and len(s) > ct.max_length:
        raise ValueError(f"text is {len(s)} characters long; at most {ct.max_length} allowed")
    return s


def _bool(_: ColumnType, s: str) -> bool:
    word = s.casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{show(s)} is not a boolean (use true/false, 1/0, yes/no or 是/否)")


def _date(_: ColumnType, s: str) -> dt.date:
    if not _DATE.fullmatch(s):
        raise ValueError(f"{show(s)} is not an ISO date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{show(s)} is not a calendar date") from None


def _timestamp(_: ColumnType, s: str) -> dt.datetime:
    """ISO 8601; with an offset → converted to Asia/Shanghai; without → already Asia/Shanghai local. Stored naive."""
    if not _TIMESTAMP.fullmatch(s):
        raise ValueError(f"{show(s)} is not an ISO 8601 timestamp (YYYY-MM-DDTHH:MM[:SS][+08:00|Z])")
    try:
        value = dt.datetime.fromisoformat(s[:-1] + "Z" if s.endswith("z") else s)  # RFC 3339 allows a small z
    except ValueError:
        raise ValueError(f"{show(s)} is not a valid date and time") from None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(SHANGHAI).replace(tzinfo=None)
        except OverflowError:  # e.g. 9999-12-31T20:00:00Z is in year 10000 in Shanghai
            raise ValueError(f"{show(s)} falls outside the years 1–9999 once converted to Asia/Shanghai time") from None
    return value


def _decimal(ct: ColumnType, s: str) -> Decimal:
    if not _DECIMAL.fullmatch(s):
        raise ValueError(f"{show(s)} is not a plain decimal number (digits and one '.', no thousands separators)")
    try:
        value = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise ValueError(f"{show(s)} is not a decimal number") from None
    assert ct.precision is not None and ct.scale is not None
    if abs(value) >= Decimal(10) ** (ct.precision - ct.scale):
        raise ValueError(f"{s} is too large (at most {ct.precision - ct.scale} digits before the decimal point)")
    if value != value.quantize(Decimal(1).scaleb(-ct.scale)):
        raise ValueError(f"{s} has more than {ct.scale} decimals")
    return value


def _int(ct: ColumnType, s: str) -> int:
    if not _INT.fullmatch(s):
        raise ValueError(f"{show(s)} is not a whole number")
    value = int(s)
    low, high = ct.int_range or INT64
    if not low <= value <= high:
        raise ValueError(f"{s} is out of range")
    return value


_PARSERS: dict[Kind, Callable[[ColumnType, str], Any]] = {
    "text": _text, "bool": _bool, "date": _date, "timestamp": _timestamp, "decimal": _decimal, "int": _int,
}


def converter(ct: ColumnType) -> Callable[[str | None], Any]:
    """A function turning one cell's text into its value, ``None``, or :class:`Invalid`."""
    parse = _PARSERS[ct.kind]

    def convert(cell: str | None) -> Any:
        if cell is None:
            return None
        try:
            return parse(ct, cell)
        except ValueError as exc:
            return Invalid(cell, str(exc))

    return convert


def usable(value: Any) -> bool:
    """A present, well-typed value (not empty, not :class:`Invalid`)."""
    return value is not None and not isinstance(value, Invalid)
