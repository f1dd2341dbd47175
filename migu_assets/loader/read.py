"""Read a CSV or XLSX file as a stream of text cells — nothing is interpreted here.

:func:`open_source` reads the header; :meth:`Source.batches` then yields the data rows a batch at a time, so memory
does not grow with the file. Every cell is a stripped ``str`` or ``None`` (empty); each row keeps its number in
the file (header = row 1). Blank rows are dropped but keep the numbering of the rows after them. XLSX formulas are
never evaluated: a formula cell yields its formula text (``=SUM(A1)``).

CSV encodings: UTF-8 (with or without BOM) and GB18030 (which contains GBK/GB2312, what Excel on Chinese Windows
writes) are recognised; ``encoding`` forces one. XLSX: the visible sheet whose header holds every column of the
table (several such sheets: ``sheet`` must say which), else the active visible sheet; XLSX date and datetime cells
become dates in a date column and timestamps in a timestamp column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from migu_assets.loader.errors import LoadError
from migu_assets.loader.labels import match_header

CSV_SUFFIXES = {".csv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
BATCH = 50_000
SAMPLE = 1 << 20  # bytes looked at to recognise the encoding
GB_FAMILY = {"gb18030", "gbk", "gb2312", "cp936", "hz"}
_TIME_FORMAT = ("h", "s", "H", "S")
# exactly what str.strip() removes, so the bulk reader and the csv-module reader trim the same characters
_SPACE = "".join(chr(i) for i in range(0x3001) if chr(i).isspace())
BLOCK = 1 << 20  # the streaming reader parses tens of blocks ahead: 1 MiB blocks keep that near 40 MiB

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class Batch:
    numbers: list[int] | pa.Array
    columns: dict[int, list[str | None] | pa.Array]  # header position → cells (stripped text or None)


class Irregular(Exception):  # noqa: N818 — a signal, not an error
    """The bulk CSV reader met a row it cannot number exactly (another column count): read with the ``csv`` module."""


@dataclass
class Source:
    """An open file: its header, how to read its rows, and what was chosen while opening it."""

    path: Path
    header: list[str]
    size: int  # bytes (CSV) or rows (XLSX), for a progress bar
    read_rows: Callable[[dict[int, str]], Iterator[Batch]]
    position: Callable[[], int]
    notes: list[str] = field(default_factory=list)
    close: Callable[[], None] = lambda: None

    fallback: Callable[[dict[int, str]], Iterator[Batch]] | None = None

    def batches(self, kinds: dict[int, str]) -> Iterator[Batch]:
        """Batches of the wanted columns (header position → column kind); may raise :class:`Irregular`, after
        which :meth:`exact_batches` reads the file again from the start."""
        return self.read_rows(kinds)

    def exact_batches(self, kinds: dict[int, str]) -> Iterator[Batch]:
        assert self.fallback is not None
        return self.fallback(kinds)


def open_source(path: Path, *, encoding: str | None = None, sheet: str | None = None,
                columns: Sequence[str] = ()) -> Source:
    """Open ``path``; ``columns`` are the table's, to choose an XLSX sheet (a candidate's header holds them all)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise LoadError(f"{path}: 文件不存在（no such file）")
    try:
        if suffix in CSV_SUFFIXES:
            return _open_csv(path, encoding)
        if suffix in XLSX_SUFFIXES:
            return _open_xlsx(path, sheet, columns)
    except OSError as exc:
        raise LoadError(f"{path}: 无法读取文件：{exc}") from None
    raise LoadError(f"{path}: 不支持的文件类型 {suffix or '（无扩展名）'}；请使用 .csv 或 .xlsx")


# ---------------------------------------------------------------- cells
def _as_text(value: Any, number_format: str | None = None) -> str | None:
    """A cell value as text, never evaluated. Dates keep their time only if it is not midnight or the cell's
    number format shows a time."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and not any(c in (number_format or "") for c in _TIME_FORMAT):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return getattr(value, "text", None) or str(value)  # array / data-table formulas: their formula text


def typed_cell_text(value: Any, number_format: str | None, kind: str | None) -> str | None:
    """An XLSX cell as text for a column of ``kind``: a date/datetime cell is a date in a date column (pandas writes
    dates as datetimes at midnight) and a full timestamp in a timestamp column."""
    if isinstance(value, dt.datetime):
        if kind == "date" and value.time() == dt.time(0):
            return value.date().isoformat()
        if kind == "timestamp":
            return value.isoformat()
    return cell_text(value, number_format)


def cell_text(value: Any, number_format: str | None = None) -> str | None:
    """One cell as stripped text; empty → ``None``."""
    text = _as_text(value, number_format)
    return (text.strip() or None) if text is not None else None


# ---------------------------------------------------------------- CSV
# Besides ASCII, a GB18030 file holds Chinese text: ideographs, CJK and full-width punctuation, the symbols of GB2312
_CHINESE = re.compile(
    "[\u00a4\u00a7\u00a8\u00b0\u00b1\u00b7\u00d7\u00f7\u2010-\u203f\u2100-\u22ff\u2460-\u24ff\u2500-\u25ff"
    "\u2600-\u26ff\u2e80-\u2fdf\u3000-\u303f\u3100-\u312f\u31c0-\u31ef\u3200-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f]"
)
_CELL = re.compile(rb'[^,\r\n"]+')
_JAPANESE = re.compile("[\u3000-\u30ff\uff01-\uff5e]")  # kana, Japanese punctuation, full-width ASCII
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HALF_WIDTH_KANA = re.compile("[\uff61-\uff9f]")
_BLANKS = str.maketrans("", "", "\t\r\n\u00a0\u3000\ufeff")  # allowed besides printable characters


def detect_encoding(path: Path, head: bytes) -> str:
    """The encoding of a CSV file from its first bytes ``head`` (:data:`SAMPLE` of them unless the file is shorter).

    UTF-8 if they are valid UTF-8; a refusal if they are mostly good UTF-8 (a damaged UTF-8 file); GB18030 if they
    decode as GB18030 into what looks like Chinese text (:func:`_reads_as_chinese`). Else charset_normalizer decides:
    GB18030 if it says so, otherwise a refusal naming its guess. A multibyte sequence cut by the end of the sample is
    held against neither encoding."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LoadError(f"{path}: 文件是 UTF-16/UTF-32 编码，不是 UTF-8 或 GB18030；请另存为“CSV UTF-8”再导入")
    final = len(head) < SAMPLE  # a full sample may end inside a character
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=final)
        return "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    as_utf8 = head.decode("utf-8", errors="replace")
    broken = as_utf8.count("\ufffd")
    if sum(1 for c in as_utf8 if ord(c) > 127) - broken > broken:  # mostly good UTF-8: a damaged UTF-8 file
        raise LoadError(f"{path}: 文件不是有效的 UTF-8：第 {utf8_error.start} 个字节 0x{head[utf8_error.start]:02x} "
                        "无法解码（文件可能已损坏或混用了编码）；请另存为“CSV UTF-8”，或用 --encoding 指定编码")
    as_gb = _strictly(head, "gb18030", final)
    if as_gb is not None and _reads_as_chinese(head, as_gb, final):
        return "gb18030"
    guess = None
    if as_gb is not None:
        from charset_normalizer import from_bytes

        best = from_bytes(head).best()
        guess = best.encoding if best else None
        if guess is None or guess.replace("_", "") in GB_FAMILY:
            return "gb18030"
    named = f"（看起来是 {guess}）" if guess else ""
    raise LoadError(
        f"{path}: 文件不是 UTF-8 或 GB18030/GBK 编码{named}："
        f"第 {utf8_error.start} 个字节 0x{head[utf8_error.start]:02x} "
        "无法识别；请另存为“CSV UTF-8”，或用 --encoding 指定编码"
    )


def _strictly(head: bytes, encoding: str, final: bool) -> str | None:
    """``head`` decoded, or ``None`` if it is not valid in ``encoding``. Unless ``final``, an incomplete sequence at
    the end (where the sample was cut) is left out rather than an error."""
    try:
        return codecs.getincrementaldecoder(encoding)().decode(head, final=final)
    except UnicodeDecodeError:
        return None


def _reads_as_chinese(head: bytes, text: str, final: bool) -> bool:
    """Whether ``text`` (``head`` decoded as GB18030) looks like what a GBK/GB18030 file holds: every character
    printable (or a tab, line break, blank or BOM); nine in ten of the non-ASCII ones Chinese (:data:`_CHINESE`);
    Chinese words among them (:func:`_chinese_cells`); and not Japanese — Shift-JIS kana and punctuation read as
    GB18030 are rare ideographs (the ideographic space ``丂``), but the same bytes read as Shift-JIS hold kana or
    punctuation and none of the half-width katakana that GBK text read as Shift-JIS is full of (the lead bytes of the
    common characters)."""
    if not text.translate(_BLANKS).isprintable():
        return False
    others = len(text) - len(text.encode("ascii", "ignore"))
    if others == 0:
        return True  # nothing but an incomplete sequence where the sample was cut
    if others - sum(1 for _ in _CHINESE.finditer(text)) > others // 10:
        return False
    if not _chinese_cells(head):
        return False
    as_sjis = _strictly(head, "cp932", final)
    return as_sjis is None or bool(_HALF_WIDTH_KANA.search(as_sjis)) or not _JAPANESE.search(as_sjis)


def _chinese_cells(head: bytes) -> bool:
    """Whether ``head`` read as GB18030 holds Chinese words, not just a few stray bytes read as ideographs (``P1蜡``,
    ``mo量量nth``; an accented letter and the next one: ``Müller`` → ``M黮ler``).

    The evidence is CSV cells (beside a comma) that are Chinese — all of them, or most of them — counting the "own"
    characters: those whose bytes are not a UTF-8 character as well (UTF-8 read as GB18030 is ``é`` → ``茅``; GBK
    text has such characters too, but fewer). Two Chinese cells will do, or one with three different own characters,
    or one all of two different Chinese characters, some own (``张三``); and one own character must be common
    (GB2312; a name may be rare). A cell mostly Chinese (``咪咕VIP会员``) needs half of those characters own, one all
    Chinese a third, else it counts without its own characters."""
    cells, common = 0, False
    for m in _CELL.finditer(head):  # no byte of a multibyte GB18030 character is a comma, quote or line break
        cell = m.group()
        if cell.isascii() or b"," not in head[max(m.start() - 2, 0) : m.start()] + head[m.end() : m.end() + 2]:
            continue
        text = _strictly(cell, "gb18030", final=False)  # the last cell may end where the sample was cut
        if text is None:
            continue
        utf8 = bytearray(len(cell))  # 1 where the bytes are a UTF-8 multibyte character
        for u in _UTF8_SEQUENCE.finditer(cell):
            utf8[u.start() : u.end()] = b"\x01" * (u.end() - u.start())
        chinese, own, at = [], [], 0
        for char in text:
            size = len(char.encode("gb18030"))
            if _CHINESE.match(char):
                chinese.append(char)
                if not all(utf8[at : at + size]):
                    own.append(char)
            at += size
        whole = len(chinese) == len(text.strip())
        if not whole and (2 * len(chinese) <= len(text.strip()) or 2 * len(own) < len(chinese)):
            continue
        if 3 * len(own) < len(chinese):
            own = []
        cells += 2 if len(set(own)) >= 3 or whole and own and len(set(chinese)) >= 2 else 1
        common = common or any(map(_in_gb2312, own))
        if cells >= 2 and common:
            return True
    return False


def _in_gb2312(char: str) -> bool:
    encoded = char.encode("gb18030")
    return len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1


def _open_csv(path: Path, forced: str | None) -> Source:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(SAMPLE)
        if len(head) == SAMPLE:  # end the sample with its line, not inside a character (unless the line is long)
            head += f.readline(SAMPLE)
    if forced:
        try:
            encoding = codecs.lookup(forced).name
        except LookupError:
            raise LoadError(f"{path}: 未知的编码 {forced!r}（--encoding）") from None
        encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    else:
        encoding = detect_encoding(path, head)
    try:
        if not head.decode(encoding, errors="replace").lstrip("\ufeff").strip():
            raise LoadError(f"{path}: 文件是空的；第 1 行必须是表头")
    except LookupError:  # pragma: no cover - looked up above
        raise LoadError(f"{path}: 未知的编码 {encoding!r}") from None
    binary = path.open("rb")
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    reader = csv.reader(text)
    where = {"record": 1}

    def fail(exc: Exception) -> LoadError:
        text.close()
        if isinstance(exc, UnicodeDecodeError):
            return LoadError(f"{path}: 第 {where['record']} 行附近有无法按 {encoding} 解码的字节；"
                             "文件编码不一致，请另存为“CSV UTF-8”，或用 --encoding 指定编码")
        return LoadError(f"{path}: 第 {where['record']} 行不是可读的 CSV：{exc}")

    try:
        first = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise fail(exc) from None
    header = [(c.strip()) for c in (first or [])]
    if not any(header):
        text.close()
        raise LoadError(f"{path}: 第 1 行没有表头")
    notes = [] if encoding.startswith("utf-8") else [f"文件编码按 {encoding} 读取"]

    def rows(kinds: dict[int, str]) -> Iterator[Batch]:
        width = len(header)
        wanted = sorted(kinds)
        numbers: list[int] = []
        kept: list[list[str]] = []
        number = 1
        try:
            for record in reader:
                number += 1
                where["record"] = number
                if len(record) > width:
                    record = record[:width]
                if not any(c.strip() for c in record):
                    continue
                numbers.append(number)
                kept.append(record)
                if len(kept) >= BATCH:
                    yield _batch(numbers, kept, wanted)
                    numbers, kept = [], []
        except (csv.Error, UnicodeDecodeError) as exc:
            raise fail(exc) from None
        if kept:
            yield _batch(numbers, kept, wanted)
        text.close()

    def position() -> int:
        return 0 if binary.closed else binary.raw.tell()

    def exact(kinds: dict[int, str]) -> Iterator[Batch]:
        binary.seek(0)
        nonlocal reader
        fresh = io.TextIOWrapper(binary, encoding=encoding, newline="")
        reader = csv.reader(fresh)
        next(reader, None)
        return rows(kinds)

    done = {"bytes": 0}

    def bulk(kinds: dict[int, str]) -> Iterator[Batch]:
        names = [f"f{i}" for i in range(len(header))]
        try:
            stream = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK, use_threads=False,
                                               encoding="utf8" if encoding.startswith("utf-8") else encoding),
                parse_options=pacsv.ParseOptions(ignore_empty_lines=False, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, LookupError):
            raise Irregular() from None
        offset = 2
        while True:
            try:
                record_batch = stream.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, UnicodeDecodeError):
                raise Irregular() from None
            done["bytes"] += record_batch.nbytes
            for start in range(0, record_batch.num_rows, BATCH):
                piece = record_batch.slice(start, BATCH)
                batch = _arrow_batch(piece, offset, kinds)
                offset += piece.num_rows
                if batch is not None:
                    yield batch
        stream.close()

    return Source(path, header, size, bulk, lambda: min(done["bytes"], size), notes, text.close, exact)


def _arrow_batch(piece: pa.RecordBatch, offset: int, kinds: dict[int, str]) -> Batch | None:
    """Trim every cell as ``str.strip`` does, drop blank rows (numbering kept), empty → null."""
    n = piece.num_rows
    trimmed = [pc.utf8_trim(piece.column(i), characters=_SPACE) for i in range(piece.num_columns)]
    blank = None
    for column in trimmed:
        empty = pc.equal(column, "")
        blank = empty if blank is None else pc.and_(blank, empty)
    keep = pc.invert(blank)
    numbers = pc.filter(pa.array(range(offset, offset + n), pa.int64()), keep)
    if len(numbers) == 0:
        return None
    columns: dict[int, list[str | None] | pa.Array] = {}
    for i in kinds:
        column = pc.filter(trimmed[i], keep)
        columns[i] = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    return Batch(numbers, columns)


def _batch(numbers: list[int], records: list[list[str]], wanted: list[int]) -> Batch:
    columns: dict[int, list[str | None]] = {}
    for i in wanted:
        columns[i] = [(r[i].strip() or None) if i < len(r) else None for r in records]
    return Batch(numbers, columns)


# ---------------------------------------------------------------- XLSX
def _open_xlsx(path: Path, sheet: str | None, columns: Sequence[str]) -> Source:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # InvalidFileException, BadZipFile, KeyError, XML errors, …
        raise LoadError(f"{path}: 不是可读的 XLSX 工作簿（{type(exc).__name__}: {exc}）") from None
    try:
        return _choose_sheet(path, workbook, sheet, columns)
    except LoadError:
        workbook.close()
        raise
    except Exception as exc:  # a damaged sheet fails lazily, in any of the ways zip, zlib and XML fail
        workbook.close()
        raise LoadError(f"{path}: 不是可读的 XLSX 工作簿（{type(exc).__name__}: {exc}）") from None


def _header_of(ws) -> list[str]:
    ws.reset_dimensions()  # do not trust the stored sheet size
    for row in ws.iter_rows(min_row=1, max_row=1):
        return [cell_text(getattr(c, "value", None)) or "" for c in row]
    return []


def _choose_sheet(path: Path, workbook, sheet: str | None, columns: Sequence[str]) -> Source:
    names = workbook.sheetnames
    if sheet is not None:
        if sheet not in names:
            raise LoadError(f"{path}: 没有名为 {sheet!r} 的工作表；工作簿中有：{'、'.join(names)}")
        ws = workbook[sheet]
    else:
        visible = [ws for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
        if not visible:
            raise LoadError(f"{path}: 工作簿没有可见的工作表")
        # a candidate holds every column of the table (a summary sheet naming one or two of them is none)
        candidates = [ws for ws in visible if columns and not match_header(columns, _header_of(ws)).missing]
        if len(candidates) > 1:
            titles = "、".join(ws.title for ws in candidates)
            raise LoadError(f"{path}: 工作簿中有多个工作表像是这张表的数据（{titles}）；"
                            "请用 --sheet 指定要导入的工作表")
        active = workbook.active
        if candidates:
            ws = candidates[0]
        elif active is not None and getattr(active, "sheet_state", "visible") == "visible":
            ws = active
        else:
            ws = visible[0]
    header = _header_of(ws)
    if not any(header):
        raise LoadError(f"{path}: 工作表 {ws.title!r} 第 1 行没有表头")
    notes = [f"读取工作表 {ws.title!r}"] if len(names) > 1 else []
    counter = {"rows": 0}

    def rows(kinds: dict[int, str]) -> Iterator[Batch]:
        width = len(header)
        wanted = sorted(kinds)
        numbers: list[int] = []
        columns: dict[int, list[str | None]] = {i: [] for i in wanted}
        try:
            for number, row in enumerate(ws.iter_rows(min_row=2), start=2):
                counter["rows"] = number
                cells = row[:width]
                if not any(cell_text(getattr(c, "value", None)) is not None for c in cells):
                    continue
                numbers.append(number)
                for i in wanted:
                    c = cells[i] if i < len(cells) else None
                    value = getattr(c, "value", None)
                    columns[i].append(typed_cell_text(value, getattr(c, "number_format", None), kinds[i]))
                if len(numbers) >= BATCH:
                    yield Batch(numbers, columns)
                    numbers, columns = [], {i: [] for i in wanted}
        except LoadError:
            raise
        except Exception as exc:
            raise LoadError(f"{path}: 不是可读的 XLSX 工作簿（{type(exc).__name__}: {exc}）") from None
        finally:
            workbook.close()
        if numbers:
            yield Batch(numbers, columns)

    max_row = ws.max_row or 0
    return Source(path, header, max_row, rows, lambda: counter["rows"], notes, workbook.close)


def frame_source(name: str, header: list[Any], body: list[tuple[int, list[Any]]]) -> Source:
    """A source over cells already in memory (``load_frame``): the same cleaning as a file."""
    head = [cell_text(h) or "" for h in header]

    def rows(kinds: dict[int, str]) -> Iterator[Batch]:
        width = len(head)
        numbers: list[int] = []
        columns: dict[int, list[str | None]] = {i: [] for i in kinds}
        for number, cells in body:
            texts = [cell_text(c) for c in list(cells)[:width]]
            if not any(t is not None for t in texts):
                continue
            numbers.append(number)
            for i in kinds:
                columns[i].append(texts[i] if i < len(texts) else None)
        yield Batch(numbers, columns)

    return Source(Path(name), head, len(body), rows, lambda: 0)
