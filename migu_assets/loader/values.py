"""Cell text → typed value, one cell at a time (SPEC preamble and §1) — the loader's exact, slow path.

The columnar path (:mod:`columnar`) converts the common spellings of a whole column at once and sends every cell it
does not recognise here, so this module decides what a cell means and, when it means nothing, says why — in the
Chinese the operator reads. A cell that does not parse becomes :class:`Invalid` carrying the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from migu_assets.warehouse.schema import ExactDecimal

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROW = "__row__"  # the staging table's extra column: each row's number in the file

Kind = Literal["text", "bool", "date", "timestamp", "decimal", "int"]

TRUE_WORDS = frozenset({"true", "1", "yes", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "否"})
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

# dates as Excel and Chinese staff write them: 2024-03-01, 2024-3-1, 2024/3/1, 2024年3月1日 (never a bare number)
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})-(\d{1,2})|/(\d{1,2})/(\d{1,2})|年(\d{1,2})月(\d{1,2})日)", re.ASCII)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)  # ASCII: no full-width digits (１２.５)
_INT = re.compile(r"[+-]?\d+", re.ASCII)
# Every C0 control but tab — CR and LF included (a line break inside a cell) —, DEL and the C1 controls: a terminal
# acts on them (ESC, BEL, CSI 0x9b …) when `explain` prints the text; NUL cannot be stored on PostgreSQL at all.
CONTROL_PATTERN = "[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f]"  # Python re and RE2 (Arrow) read it alike
CONTROL = re.compile(CONTROL_PATTERN)
LINE_BREAKS = {0x0A: "换行符 LF", 0x0D: "回车符 CR"}
# Unicode format characters (general category Cf, Unicode 14 as in Python 3.11's unicodedata; a test compares): BOM,
# soft hyphen, zero-width space/joiners, direction marks, bidi embeddings and isolates, word joiner, invisible
# operators, tags … — invisible, so two keys differing only by them look alike. Written out: Python's re has no
# \p{Cf}, and RE2's tables (Arrow) may follow another Unicode version.
FORMAT_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
INVISIBLE_PATTERN = f"[{FORMAT_CHARS}]"
INVISIBLE = re.compile(INVISIBLE_PATTERN)


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
            "text": "文本" + (f"（最多 {self.max_length} 个字符）" if self.max_length else ""),
            "bool": "是/否（true/false、1/0、yes/no、是/否）",
            "date": "日期（2024-03-01、2024/3/1、2024-3-1 或 2024年3月1日）",
            "timestamp": "ISO 8601 时间（如 2024-01-03T10:00:00 或 2024-01-03T10:00:00+08:00）",
            "decimal": f"最多 {self.scale} 位小数的数",
            "int": "整数",
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
        return f"{raw[:SHOW_MAX]!r}…（共 {len(raw)} 个字符）"
    return _show(value)


def _show(value: Any) -> str:
    if value is None:
        return "空"
    if isinstance(value, Invalid):
        return repr(value.raw)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | Decimal | int):
        return str(value)
    return repr(str(value))


def normalise_key(s: str) -> str:
    """A key as the warehouse stores it: NFKC (full-width ０ → 0) without format characters (:data:`INVISIBLE`: BOM,
    zero-width, direction marks, soft hyphen …), trimmed. NFKC yields no format character, so this is idempotent."""
    return unicodedata.normalize("NFKC", INVISIBLE.sub("", s)).strip()


# ---------------------------------------------------------------- parsers: text → value, ValueError(reason) if not


def _text(ct: ColumnType, s: str) -> str:
    bad = CONTROL.search(s)
    if bad:
        code = ord(bad.group())
        if code in LINE_BREAKS:
            raise ValueError(f"第 {bad.start() + 1} 个字符是{LINE_BREAKS[code]}（控制字符 0x{code:02x}）："
                             "单元格内不能换行，请改为空格或“；”")
        name = "NUL " if code == 0 else ""
        raise ValueError(f"第 {bad.start() + 1} 个字符是控制字符 {name}(0x{code:02x})，请删除")
    if ct.max_length is not None and len(s) > ct.max_length:
        raise ValueError(f"文本长 {len(s)} 个字符，最多 {ct.max_length} 个")
    return s


def _bool(_: ColumnType, s: str) -> bool:
    word = s.casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{show(s)} 不是是/否值（可写 true/false、1/0、yes/no、是/否）")


def parse_date(s: str) -> dt.date:
    m = _DATE.fullmatch(s)
    if not m:
        raise ValueError(f"{show(s)} 不是日期（可写 2024-03-01、2024/3/1、2024-3-1 或 2024年3月1日）")
    year = int(m.group(1))
    month, day = (int(g) for g in next((m.group(i), m.group(i + 1)) for i in (2, 4, 6) if m.group(i)))
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{show(s)} 不是日历上的日期") from None


def _date(_: ColumnType, s: str) -> dt.date:
    return parse_date(s)


def _timestamp(_: ColumnType, s: str) -> dt.datetime:
    """ISO 8601; with an offset → converted to Asia/Shanghai; without → already Asia/Shanghai local. Stored naive."""
    if not _TIMESTAMP.fullmatch(s):
        raise ValueError(f"{show(s)} 不是 ISO 8601 时间（YYYY-MM-DDTHH:MM[:SS][+08:00|Z]）")
    try:
        value = dt.datetime.fromisoformat(s[:-1] + "Z" if s.endswith("z") else s)  # RFC 3339 allows a small z
    except ValueError:
        raise ValueError(f"{show(s)} 不是有效的日期和时间") from None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(SHANGHAI).replace(tzinfo=None)
        except OverflowError:  # e.g. 9999-12-31T20:00:00Z is in year 10000 in Shanghai
            raise ValueError(f"{show(s)} 换算为北京时间后超出 1–9999 年") from None
    return value


def _decimal(ct: ColumnType, s: str) -> Decimal:
    if not _DECIMAL.fullmatch(s):
        raise ValueError(f"{show(s)} 不是普通的数（只用数字和一个小数点，不要千分位逗号、单位或科学计数法）")
    try:
        value = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise ValueError(f"{show(s)} 不是数") from None
    assert ct.precision is not None and ct.scale is not None
    if abs(value) >= Decimal(10) ** (ct.precision - ct.scale):
        raise ValueError(f"{s} 太大（整数部分最多 {ct.precision - ct.scale} 位）")
    if value != value.quantize(Decimal(1).scaleb(-ct.scale)):
        raise ValueError(f"{s} 的小数超过 {ct.scale} 位")
    return value


def _int(ct: ColumnType, s: str) -> int:
    if not _INT.fullmatch(s):
        raise ValueError(f"{show(s)} 不是整数")
    value = int(s)
    low, high = ct.int_range or INT64
    if not low <= value <= high:
        raise ValueError(f"{s} 超出整数范围")
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
