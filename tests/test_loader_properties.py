"""Property-based tests of the loader against bad input (issue 8), over the data contract of SPEC §1.

Hypothesis writes CSV and XLSX files — valid rows generated from the contract, then broken on purpose: wrong types,
huge values, impossible dates, absurd offsets, missing or repeated columns, duplicate keys, foreign encodings, NUL
bytes, random and damaged bytes, empty and header-only files, random unicode and formula-like text. Properties:

* a malformed file is rejected with :class:`LoadError` and nothing else (no other exception, no hang);
* every message names the file, and a problem in a cell is reported as ``"{file}: row {n}, column {col}: …"``;
* nothing is written (the row counts of every source table are unchanged);
* valid rows load with exactly their values, and re-loading them — in either format, however rendered — is a
  no-op (inserted=0); a changed re-load is rejected and overwrites nothing;
* formula-like text is kept as plain text.

The heavy runs use one SQLite warehouse per test (each example resets the table it loads or checks counts before
and after); smaller runs repeat the main properties on PostgreSQL (marker ``postgres``). The tests at the end pin
the three defects these properties found. No example database is kept (``database=None``): a failure prints its
falsifying example, and nothing is written into the checkout.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import signal
import struct
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from migu_assets.loader import TABLES, LoadError, LoadResult, load_file
from migu_assets.loader.labels import match_header
from migu_assets.policy import load_policy_book
from migu_assets.warehouse.engine import engine_for
from migu_assets.warehouse.schema import SOURCE_TABLES, measures, partners

POLICY = load_policy_book().latest  # the strategies need the policy's vocabularies before any fixture exists
SHANGHAI = ZoneInfo("Asia/Shanghai")
SEEDS = {"P1": "G1", "P2": "G1", "P3": None}  # partner_id → parent_company_id, in the warehouse of every test
# measures an execution may name (SPEC v2 §5a: measure_executions.measure_id names a row of measures)
SEED_MEASURES = ["grade:P1:2024-01:stop_new_business", "control:CE1:business:suspend_promotion"]
SEED_MEASURE_MONTH = dt.date(2024, 1, 1)
LOAD_TIMEOUT = 30  # seconds; one load of these small files takes milliseconds, so more is a hang

# Function-scoped fixtures are safe here: every example either resets the table it loads or compares row counts
# before and after, so what one example leaves behind never decides another's outcome.
_COMMON = {"deadline": None, "database": None,
           "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large]}


def examples(n: int) -> settings:
    return settings(max_examples=n, **_COMMON)


PG_EXAMPLES = 15

# ---------------------------------------------------------------- fixtures


def _seed(engine: sa.Engine) -> sa.Engine:
    with engine.begin() as conn:
        conn.execute(partners.insert(), [
            {"partner_id": pid, "name": f"伙伴{pid}", "parent_company_id": parent, "on_network_rights_platform": False,
             "cooperation_start": dt.date(2023, 1, 1)}
            for pid, parent in SEEDS.items()
        ])
        conn.execute(measures.delete())
        conn.execute(measures.insert(), [
            {"measure_id": mid, "partner_id": "P1", "month": SEED_MEASURE_MONTH, "source": mid.split(":")[0],
             "code": mid.rsplit(":", 1)[1], "due_on": dt.date(2024, 2, 19), "ends_on": None, "clause": "第十条/C",
             "reason": "种子措施"}
            for mid in SEED_MEASURES
        ])
    return engine


@pytest.fixture
def sqlite_engine(sqlite_url):
    """One migrated SQLite warehouse for the whole test (not per example), seeded with partners P1–P3."""
    return _seed(engine_for(sqlite_url))


@pytest.fixture
def pg_engine(pg_database_url):
    """The session's PostgreSQL warehouse with empty source tables, seeded with partners P1–P3."""
    engine = engine_for(pg_database_url)
    with engine.begin() as conn:
        for table in SOURCE_TABLES.values():
            conn.execute(table.delete())
    return _seed(engine)


# ---------------------------------------------------------------- files


class _Text:
    """Marks a cell written as its text (the default), as opposed to a native XLSX value."""

    def __repr__(self) -> str:
        return "TEXT"


TEXT = _Text()


@dataclass
class Cell:
    """One cell: its text (CSV, and XLSX unless ``native`` is set) and optionally a native XLSX value/format."""

    text: str
    native: Any = TEXT
    number_format: str | None = None


@dataclass
class Case:
    """A file to load: header, body cells, and the typed rows a valid file must store."""

    table: str
    fmt: str  # "csv" | "xlsx"
    header: list[str]
    rows: list[list[Cell]]
    expected: list[dict[str, Any]] = field(default_factory=list)

    def write(self, directory: Path, name: str = "input") -> Path:
        path = directory / f"{name}.{self.fmt}"
        if self.fmt == "csv":
            path.write_bytes(csv_bytes(self.header, self.rows))
        else:
            write_xlsx(path, self.header, self.rows)
        return path


def csv_bytes(header: list[str], rows: list[list[Cell]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([c.text for c in row] for row in rows)
    return out.getvalue().encode("utf-8")


def write_xlsx(path: Path, header: list[str], rows: list[list[Cell]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r, row in enumerate(rows, start=2):
        for c, cell in enumerate(row, start=1):
            target = ws.cell(r, c, cell.text if cell.native is TEXT else cell.native)
            if cell.number_format:
                target.number_format = cell.number_format
    wb.save(path)


@contextmanager
def files() -> Iterator[Path]:
    """A fresh directory per example (hypothesis runs many examples inside one ``tmp_path``)."""
    with tempfile.TemporaryDirectory(prefix="loader-prop-") as directory:
        yield Path(directory)


# ---------------------------------------------------------------- warehouse helpers


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` in the loader can turn it into a LoadError."""


@contextmanager
def no_hang(seconds: float = LOAD_TIMEOUT) -> Iterator[None]:
    """Fail a load that runs longer than ``seconds`` (SIGALRM, main thread only; elsewhere a no-op)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(_signum, _frame):
        raise Hang(f"a load ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load(engine: sa.Engine, table: str, path: Path) -> LoadResult:
    with no_hang():
        return load_file(engine, table, path, POLICY)


def counts(engine: sa.Engine) -> dict[str, int]:
    """Row count of every source table, in one query."""
    query = sa.select(*(sa.select(sa.func.count()).select_from(t).scalar_subquery().label(name)
                        for name, t in SOURCE_TABLES.items()))
    with engine.connect() as conn:
        return dict(conn.execute(query).one()._mapping)


def stored(engine: sa.Engine, table: str) -> dict[tuple, dict[str, Any]]:
    t, key = SOURCE_TABLES[table], TABLES[table].primary_key
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(t))]
    return {tuple(r[c] for c in key): r for r in rows if not (table == "partners" and r["partner_id"] in SEEDS)}


def reset(engine: sa.Engine, table: str) -> None:
    """Empty ``table`` (the seeded partners stay)."""
    t = SOURCE_TABLES[table]
    with engine.begin() as conn:
        if table == "partners":
            conn.execute(t.delete().where(t.c.partner_id.not_in(list(SEEDS))))
        else:
            conn.execute(t.delete())


def assert_rejected(engine: sa.Engine, table: str, path: Path) -> LoadError:
    """LoadError (any other exception fails the test as it is), every message names the file, nothing written."""
    before = counts(engine)
    with pytest.raises(LoadError) as info:
        load(engine, table, path)
    err = info.value
    assert err.messages, "a LoadError without a message"
    assert all(m.startswith(f"{path}: ") for m in err.messages), err.messages
    assert counts(engine) == before, "a rejected load wrote rows"
    return err


def messages_at(err: LoadError, path: Path, row: int, column: str) -> list[str]:
    """The reasons of the failing cells at ``row`` and ``column`` (every message already names ``path``)."""
    assert all(m.startswith(f"{path}: ") for m in err.messages), err.messages
    return [c.reason for c in err.cells if c.row == row and c.column == column]


# ---------------------------------------------------------------- strategies: valid values (SPEC §1)

# Characters that stress a loader: CJK, emoji (with ZWJ and flags), RTL text and direction marks, combining and
# zero-width characters, unicode line and space separators, C0/C1 controls, quotes and CSV/formula punctuation.
SPECIAL = ("中文咪咕联合会员管理办法" "😀🎵👨\u200d👩\u200d👧🇨🇳" "שלום" "مرحبا" "\u202e\u200f\u200e\u2066\u2069"
           "e\u0301\u200b\ufeff\u2028\u2029\u00a0\u3000" "\t\n\r\x01\x07\x1b\x1f\x7f\x85\x9f" "\"',;=@+-|!#%&")
# XML cannot hold C0 controls but tab and LF (openpyxl refuses them) nor \ufffe/\uffff; a bare CR is read back as LF
NOT_IN_XLSX = "".join(chr(i) for i in range(32) if chr(i) not in "\t\n") + "\ufffe\uffff"
# issue 14: control characters a terminal acts on (C0 but tab — CR and LF included —, DEL, C1) are rejected at load,
# so valid text holds none; they are bad cells (see bad_cells)
REJECTED_CONTROLS = "".join(chr(i) for i in [*range(0x00, 0x09), *range(0x0a, 0x20), *range(0x7f, 0xa0)])


def _xlsx_safe(ch: str) -> bool:
    return ch not in NOT_IN_XLSX


ALPHABET = {
    "csv": st.one_of(st.characters(exclude_categories=["Cs"], exclude_characters=REJECTED_CONTROLS),
                     st.sampled_from([c for c in SPECIAL if c not in REJECTED_CONTROLS])),
    "xlsx": st.one_of(st.characters(exclude_categories=["Cs"], exclude_characters=NOT_IN_XLSX + REJECTED_CONTROLS),
                      st.sampled_from([c for c in SPECIAL if _xlsx_safe(c) and c not in REJECTED_CONTROLS])),
}
FORMATS = st.sampled_from(["csv", "xlsx"])
PAD = st.sampled_from(["", " ", "  ", "\t", "\u3000"])  # stripped by the loader


def as_key(text: str) -> str:
    """Issue 14: identifiers are stored NFKC-normalised without format characters (Unicode category Cf: look-alike
    keys are one key); written out here, not imported from the loader, so a drift shows up as a failure."""
    return unicodedata.normalize("NFKC", "".join(c for c in text if unicodedata.category(c) != "Cf")).strip()


def keys(fmt: str, max_length: int | None) -> st.SearchStrategy[str]:
    """A key as the warehouse stores it (already normalised), at most ``max_length`` characters."""
    return texts(fmt, max_length).map(as_key).filter(
        lambda s: bool(s) and len(s) <= (max_length or len(s)) and all(c not in REJECTED_CONTROLS for c in s)
        and (fmt == "csv" or all(map(_xlsx_safe, s))))


def texts(fmt: str, max_length: int | None, max_size: int = 24) -> st.SearchStrategy[str]:
    """Non-blank text as the warehouse stores it (already stripped), at most ``max_length`` characters."""
    limit = min(max_length or max_size, max_size)
    return st.text(ALPHABET[fmt], min_size=1, max_size=limit).map(str.strip).filter(bool)


def _decimal_max(precision: int, scale: int) -> Decimal:
    return Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)


# SPEC §1 vocabularies, written out here (not imported from the loader) so a drift shows up as a failure
ENUMS: dict[tuple[str, str], list[str]] = {
    ("complaint_tickets", "category"): ["uninformed_subscription", "other"],
    ("control_events", "event_type"): list(POLICY.control.events),
    ("importance_declarations", "item"): list(POLICY.importance.company_items),
    ("importance_declarations", "review_status"): ["pending", "approved", "rejected"],
    ("settlement_items", "payment_method"): ["phone_bill", "third_party"],
    ("exit_deductions", "kind"): ["penalty", "audit", "unpaid_fees", "other"],
}
MONTH_COLUMNS = {("partner_monthly_business", "month"), ("settlement_items", "month"), ("credit_issue_dates", "month")}


def value_strategy(table: str, column: str, fmt: str) -> st.SearchStrategy[Any]:
    """A valid, typed value of one contract column (row rules are fixed afterwards by :func:`satisfy_rules`)."""
    ct = TABLES[table].types[column]
    if column == "partner_id":
        if table == "partners":
            return keys(fmt, ct.max_length).filter(lambda s: s not in SEEDS)
        return st.sampled_from(sorted(SEEDS))
    if (table, column) in ENUMS:
        return st.sampled_from(ENUMS[table, column])
    if (table, column) in MONTH_COLUMNS:
        return st.dates().map(lambda d: d.replace(day=1))
    if column == "authorized_by_parent":
        return st.none()  # 独家授权 has its own example tests; here it would couple examples through the warehouse
    if column == "share_ratio":
        return st.decimals(min_value=0, max_value=POLICY.settlement.max_share_ratio, places=ct.scale)
    if column == "violation_type":
        return st.integers(1, 7)
    if (table, column) == ("measure_executions", "measure_id"):
        return st.sampled_from(SEED_MEASURES)
    if (table, column) == ("measure_executions", "executed_on"):
        return st.dates(min_value=SEED_MEASURE_MONTH)  # not before the measure's month
    if (table, column) == ("exit_deductions", "amount"):  # SPEC v2 §1: amount > 0; a partner's Σ < 5·10^11
        return st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10) ** 11, places=ct.scale)
    if ct.kind == "text" and column in TABLES[table].keys:
        return keys(fmt, ct.max_length)
    if table == "settlement_items" and ct.kind == "decimal":
        # issue 14: a partner's Σ info_fee and Σ deductions over all months fit NUMERIC(14,2); four rows of at
        # most 10^11 always do
        return st.decimals(min_value=0, max_value=Decimal(10) ** 11, places=ct.scale)
    return {
        "text": lambda: texts(fmt, ct.max_length),
        "bool": st.booleans,
        "date": st.dates,
        "timestamp": st.datetimes,
        # every other decimal column is money, and every money column of SPEC §1 is ≥ 0
        "decimal": lambda: st.decimals(min_value=0, max_value=_decimal_max(ct.precision, ct.scale), places=ct.scale),
        "int": lambda: st.integers(*ct.int_range),
    }[ct.kind]()


def satisfy_rules(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """Make a row of independent values satisfy the cross-field rules of SPEC §1."""
    if table == "complaint_tickets" and row["due_at"] < row["created_at"]:
        row["created_at"], row["due_at"] = row["due_at"], row["created_at"]
    if table == "payment_holds" and row["end_date"] is not None and row["end_date"] < row["start_date"]:
        row["start_date"], row["end_date"] = row["end_date"], row["start_date"]
    if table == "contracts":
        start, end = sorted([row["start_date"], row["end_date"]])
        if start == end:
            start, end = (start, end + dt.timedelta(days=1)) if end < dt.date.max else (start - dt.timedelta(days=1),
                                                                                         end)
        row["start_date"], row["end_date"] = start, end
    if table == "importance_declarations" and row["review_status"] == "approved":
        row["reviewed_on"] = row["reviewed_on"] or row["submitted_on"]
        row["minutes_ref"] = row["minutes_ref"] or "会议纪要"
    if table == "control_events" and POLICY.control.events[row["event_type"]].requires_province:
        row["province"] = row["province"] or "GD"
    return row


@st.composite
def typed_rows(draw, table: str, fmt: str, min_size: int = 1, max_size: int = 4) -> list[dict[str, Any]]:
    contract = TABLES[table]

    @st.composite
    def one(draw2) -> dict[str, Any]:
        row = {}
        for column in contract.columns:
            nullable = column not in contract.required
            row[column] = None if nullable and draw2(st.booleans()) else draw2(value_strategy(table, column, fmt))
        return satisfy_rules(table, row)

    key = contract.primary_key
    return draw(st.lists(one(), min_size=min_size, max_size=max_size, unique_by=lambda r: tuple(r[c] for c in key)))


# ---------------------------------------------------------------- strategies: rendering values as cells

BOOL_WORDS = {True: ["true", "1", "yes", "是"], False: ["false", "0", "no", "否"]}  # SPEC §1 bool columns


def _native_date_ok(value: dt.date) -> bool:
    return 1901 <= value.year <= 9998  # what an XLSX date serial holds without the 1900 leap-year quirk


@st.composite
def render(draw, table: str, column: str, value: Any, fmt: str) -> Cell:
    """One typed value as a file cell — in one of the ways an operator's file may write it."""
    ct = TABLES[table].types[column]
    native = fmt == "xlsx" and draw(st.booleans())
    if value is None:
        return Cell(draw(st.sampled_from(["", " ", "\t"])), None if native else TEXT)
    if ct.kind == "text":
        return Cell(draw(PAD) + value + draw(PAD))
    if ct.kind == "bool":
        word = draw(st.sampled_from(BOOL_WORDS[value]))
        return Cell(draw(st.sampled_from([str.lower, str.upper, str.title]))(word), value if native else TEXT)
    if ct.kind == "date":
        return Cell(value.isoformat(), value if native and _native_date_ok(value) else TEXT)
    if ct.kind == "timestamp":
        return Cell(draw(timestamp_text(value)),
                    value if native and value.microsecond == 0 and _native_date_ok(value) else TEXT)
    if ct.kind == "decimal":
        text = draw(st.sampled_from([format(value, "f"), "+" + format(value, "f"), format(value.normalize(), "f"),
                                     "00" + format(value, "f")]))
        return Cell(text, float(value) if native else TEXT)
    assert ct.kind == "int"
    return Cell(draw(st.sampled_from([str(value), f"{value:+d}", f"{value:04d}"])), value if native else TEXT)


@st.composite
def timestamp_text(draw, value: dt.datetime) -> str:
    """Shanghai local time, written naive or with any offset (SPEC preamble: offsets are converted)."""
    sep = draw(st.sampled_from(["T", " "]))
    if 1992 <= value.year <= 2100 and draw(st.booleans()):  # no DST or LMT in Asia/Shanghai in these years
        minutes = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
        aware = value.replace(tzinfo=SHANGHAI).astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
        text = aware.isoformat(sep=sep)
        if minutes == 0:
            text = text[:-6] + draw(st.sampled_from(["+00:00", "Z", "z", "-00:00"]))
        return text
    if value.second == 0 and value.microsecond == 0 and draw(st.booleans()):
        return value.isoformat(sep=sep, timespec="minutes")
    return value.isoformat(sep=sep)


@st.composite
def layout(draw, table: str, fmt: str, rows: list[dict[str, Any]], extras: bool = True) -> Case:
    """Render typed rows as a file: contract columns in any order, extra (ignored) columns mixed in."""
    columns = list(TABLES[table].columns)
    order = draw(st.permutations(columns))
    extra_names = draw(st.lists(st.text("abcxyz_备注", min_size=1, max_size=6).filter(
        lambda s: not match_header(columns, [s]).positions), max_size=2)) if extras else []  # no alias (备注 = note)
    header = list(order)
    for name in extra_names:
        header.insert(draw(st.integers(0, len(header))), name)
    body = []
    for row in rows:
        cells = []
        for name in header:
            if name in columns:
                cells.append(draw(render(table, name, row[name], fmt)))
            else:
                cells.append(Cell(draw(st.text(ALPHABET[fmt], max_size=8))))
        body.append(cells)
    return Case(table, fmt, header, body, rows)


@st.composite
def valid_cases(draw, tables: list[str] | None = None, min_rows: int = 1, max_rows: int = 4,
                fmt: str | None = None, extras: bool = True) -> Case:
    table = draw(st.sampled_from(tables or sorted(TABLES)))
    fmt = fmt or draw(FORMATS)
    rows = draw(typed_rows(table, fmt, min_rows, max_rows))
    return draw(layout(table, fmt, rows, extras))


def xlsx_safe_rows(rows: list[dict[str, Any]]) -> bool:
    return all(all(map(_xlsx_safe, v)) for row in rows for v in row.values() if isinstance(v, str))


# ---------------------------------------------------------------- strategies: bad cells

POISON = "qvwx#?!中文😀"  # in no number, date, timestamp or boolean word (no digits, e, T, Z)


def poisoned(fmt: str, max_size: int = 8) -> st.SearchStrategy[str]:
    """Random text with at least one character no number, date, timestamp or boolean may contain."""
    side = st.text(ALPHABET[fmt], max_size=max_size)
    return st.tuples(side, st.sampled_from(POISON), side).map("".join)


def too_long(fmt: str, max_length: int) -> st.SearchStrategy[str]:
    """Text longer than VARCHAR(max_length) once stripped — just over, or up to 100 000 characters."""
    def build(chunk: str, extra: int) -> str:
        return "界" + chunk * -(-(max_length + extra) // len(chunk)) + "界"

    return st.builds(build, st.text(ALPHABET[fmt], min_size=1, max_size=5), st.sampled_from([0, 1, 7, 1000, 100_000]))


def impossible_days() -> st.SearchStrategy[str]:
    """YYYY-MM-DD with a day past the month's end (Feb 30, Apr 31, Feb 29 of a common year, …)."""
    any_year = st.tuples(st.integers(1, 9999), st.sampled_from([(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)]))
    common_year = st.tuples(st.integers(1, 9999).filter(lambda y: not calendar.isleap(y)), st.just((2, 29)))
    return st.one_of(any_year, common_year).map(lambda t: f"{t[0]:04d}-{t[1][0]:02d}-{t[1][1]:02d}")


BAD_DATES = ["0000-01-01", "0000-12-31", "10000-01-01", "99999-12-31", "-2024-01-01", "2024-13-01", "2024-00-10",
             "2024-01-00", "2024-01-32", "2024-1-32", "24-01-05", "2024/13/05", "05.01.2024", "20240105",
             "2024-01-05T00:00:00", "2024-01-05 10:00", "2024-W01-1", "2024-001", "２０２４-０１-０５", "2024-01-05Z",
             "45000", "1e3"]
BAD_TIMESTAMPS = ["0000-01-01T00:00:00", "10000-01-01T00:00:00", "2024-02-30T10:00:00", "2023-02-29T00:00",
                  "2024-01-03T24:00:00", "2024-01-03T25:00", "2024-01-03T10:60", "2024-01-03T10:00:60",
                  "2024-01-03T10:00:00.1234567", "2024-01-03", "2024-01-03T10", "2024-01-03T10:00:00+24:00",
                  "2024-01-03T10:00:00-24:00", "2024-01-03T10:00:00+99:99", "2024-01-03T10:00:00+23:60",
                  "2024-01-03T10:00:00+08:00:00", "2024-01-03T10:00:00 +08:00", "2024-01-03T10:00:00CST",
                  "2024-01-03T10:00:00+8", "2024-01-03T10:00:00ZZ", "1704247200", "２０２４-０１-０３T10:00"]
BAD_NUMBERS = ["1e3", "1E+2", "1,000.00", "1 000", "NaN", "nan", "Infinity", "-Infinity", "inf", "--1", "+-1",
               "1.2.3", ".", "-", "+", "0x10", "1_000", "¥100", "100元", "(100)", "100-", "1/2"]


def out_of_range_timestamps() -> st.SearchStrategy[str]:
    """Valid-looking timestamps whose offset moves them out of years 1–9999 in Asia/Shanghai time."""
    # local hour h at offset o: UTC is h − o; Shanghai is UTC + 8 h (+8:05:43 LMT in year 1)
    late = st.integers(0, 23).flatmap(lambda h: st.tuples(st.just(h), st.integers(-23, min(23, h - 16)))).map(
        lambda t: f"9999-12-31T{t[0]:02d}:30:00{t[1]:+03d}:00")  # h − o ≥ 16: Shanghai lands in year 10000
    early = st.integers(0, 13).flatmap(lambda h: st.tuples(st.just(h), st.integers(h + 10, 23))).map(
        lambda t: f"0001-01-01T{t[0]:02d}:59:59+{t[1]:02d}:00")  # h − o ≤ −10: before year 1 in UTC and Shanghai
    absurd = st.tuples(st.dates(), st.sampled_from("+-"), st.integers(24, 99), st.integers(0, 99)).map(
        lambda t: f"{t[0].isoformat()}T12:00:00{t[1]}{t[2]:02d}:{t[3]:02d}")
    return st.one_of(late, early, absurd)


def huge_integers() -> st.SearchStrategy[str]:
    """Integers beyond 64 bits (30 digits and more), both signs, and digit strings past Python's int limit."""
    return st.one_of(st.integers(2**63, 10**40).map(str), st.integers(-(10**40), -(2**63) - 1).map(str),
                     st.integers(10**29, 10**30 - 1).map(str), st.sampled_from([5000, 100_000]).map(lambda k: "7" * k))


def bad_cells(table: str, column: str, fmt: str) -> st.SearchStrategy[Cell] | None:
    """Cells that must be rejected in ``column`` whatever the rest of the row holds; None if there are none."""
    contract = TABLES[table]
    ct = contract.types[column]
    xlsx = fmt == "xlsx"
    text: list[st.SearchStrategy[str]] = []
    native: list[st.SearchStrategy[Cell]] = []
    if column in contract.required:
        text.append(st.sampled_from(["", " ", "\t", "\u3000 "]))
        if xlsx:
            native.append(st.just(Cell("", None)))
    if ct.kind == "text":
        if ct.max_length:
            text.append(too_long(fmt, ct.max_length))
        if not xlsx:  # a NUL character: the warehouse cannot store it (PostgreSQL refuses it outright)
            side = st.text(ALPHABET[fmt], max_size=5)
            text.append(st.tuples(side, st.sampled_from(["\x00", "\x00\x00"]), side).map("".join))
        if (table, column) in ENUMS:
            text.append(poisoned(fmt).filter(lambda s: s.strip() not in ENUMS[table, column]))
        if column == "partner_id" and table != "partners":
            text.append(poisoned(fmt))  # not a partner in the warehouse
    elif ct.kind == "bool":
        text += [poisoned(fmt), st.sampled_from(["y", "n", "t", "f", "2", "-1", "on", "off", "真", "假", "true false",
                                                 "1.0", "TRUE1"])]
        if xlsx:
            native.append(st.sampled_from([Cell("2", 2), Cell("0.5", 0.5), Cell("2024-01-01", dt.date(2024, 1, 1))]))
    elif ct.kind == "date":
        text += [poisoned(fmt), st.sampled_from(BAD_DATES), impossible_days(),
                 st.dates().map(lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}"),
                 st.datetimes().map(lambda t: t.isoformat())]
        if (table, column) in MONTH_COLUMNS:
            text.append(st.dates().filter(lambda d: d.day != 1).map(dt.date.isoformat))
        if xlsx:
            native += [
                st.datetimes(dt.datetime(1901, 1, 1), dt.datetime(9998, 12, 31)).filter(lambda t: t.hour).map(
                    lambda t: Cell(t.isoformat(), t.replace(microsecond=0))),
                st.sampled_from([Cell("1e12", 1e12, "yyyy-mm-dd"), Cell("-1e7", -1e7, "yyyy-mm-dd"),
                                 Cell("true", True), Cell("10:00", dt.time(10, 0))]),
            ]
    elif ct.kind == "timestamp":
        text += [poisoned(fmt), st.sampled_from(BAD_TIMESTAMPS), impossible_days().map(lambda d: d + "T08:00:00"),
                 out_of_range_timestamps(), st.dates().map(dt.date.isoformat)]
        if xlsx:
            native.append(st.sampled_from([Cell("true", True), Cell("10:00", dt.time(10, 0)),
                                           Cell("1e12", 1e12, "yyyy-mm-dd hh:mm:ss")]))
    elif ct.kind == "decimal":
        whole = ct.precision - ct.scale
        text += [poisoned(fmt), st.sampled_from(BAD_NUMBERS),
                 st.integers(whole + 1, 40).map(lambda k: "9" * k),  # ≥ 10^(p−s): beyond NUMERIC(p, s)
                 st.integers(whole, 40).map(lambda k: "1" + "0" * k + ".00"),
                 huge_integers(),
                 st.tuples(st.integers(0, 10**6), st.integers(ct.scale + 1, 40)).map(  # more decimals than s
                     lambda t: f"{t[0]}.{'0' * (t[1] - 1)}1")]
        if column == "share_ratio":  # 0 ≤ share_ratio ≤ max (第四条)
            text.append(st.decimals(min_value=POLICY.settlement.max_share_ratio + Decimal("0.0001"),
                                    max_value=Decimal("99.9999"), places=4).map(lambda d: format(d, "f")))
        text.append(st.decimals(min_value=Decimal("-999999999.99"), max_value=Decimal("-0.01"), places=2).map(
            lambda d: format(d, "f")))  # money and share_ratio are ≥ 0
        if xlsx:
            native.append(st.sampled_from([Cell("1e20", 1e20), Cell("0.00001", 0.00001), Cell("-5", -5),
                                           Cell("true", True)]))
    elif ct.kind == "int":
        text += [poisoned(fmt), huge_integers(),
                 st.sampled_from(["2.5", "3.0", "1e0", "0x3", "三", "III", "+-3", "3-", "1_0", "٣٫٠"]),
                 st.integers(2**31, 2**63 - 1).map(str), st.integers(-(2**31) * 4, 0).map(str)]
        if column == "violation_type":  # 附件8 items 1–7
            text.append(st.integers(8, 2**31 - 1).map(str))
        if xlsx:
            native.append(st.sampled_from([Cell("2.5", 2.5), Cell("1e30", 10**30), Cell("true", True)]))
    strategies = [s.map(Cell) for s in text] + native
    if xlsx:  # openpyxl cannot write what XML cannot hold
        strategies = [s.filter(lambda c: c.native is not TEXT or all(map(_xlsx_safe, c.text))) for s in strategies]
    return st.one_of(strategies) if strategies else None


KINDS = sorted({ct.kind for contract in TABLES.values() for ct in contract.types.values()})


@st.composite
def bad_cell_cases(draw) -> tuple[Case, int, str]:
    """A valid file with one cell replaced by a bad one; returns the case, the bad cell's row number and column.
    The column type is drawn first, so the few decimal, timestamp and int columns get their share."""
    kind = draw(st.sampled_from(KINDS))
    table = draw(st.sampled_from(sorted(t for t, c in TABLES.items() if kind in {ct.kind for ct in c.types.values()})))
    case = draw(valid_cases([table], 1, 3))
    options = [(c, s) for c, ct in TABLES[table].types.items()
               if ct.kind == kind and (s := bad_cells(table, c, case.fmt)) is not None]
    assume(options)  # e.g. an XLSX cannot hold the NUL that is the only bad value of a nullable TEXT column
    column, strategy = draw(st.sampled_from(options))
    position = draw(st.integers(0, len(case.rows) - 1))
    case.rows[position][case.header.index(column)] = draw(strategy)
    case.expected = []
    return case, position + 2, column


# ---------------------------------------------------------------- properties


def check_valid_round_trip(engine: sa.Engine, case: Case, again: Case, data: st.DataObject) -> None:
    """Valid rows load with exactly their values; re-loading them is a no-op; a changed re-load is rejected."""
    event(f"round trip: {case.fmt} then {again.fmt}")
    reset(engine, case.table)
    before = counts(engine)
    n = len(case.expected)
    key = TABLES[case.table].primary_key
    with files() as directory:
        path = case.write(directory)
        assert load(engine, case.table, path) == LoadResult(case.table, n, 0)
        expected = {tuple(r[c] for c in key): r for r in case.expected}
        assert stored(engine, case.table) == expected
        assert load(engine, case.table, path) == LoadResult(case.table, 0, n)
        # the same values rendered anew, maybe in the other format, are the same rows
        assert load(engine, case.table, again.write(directory, "again")) == LoadResult(case.table, 0, n)
        assert counts(engine) == {**before, case.table: before[case.table] + n}

        # one non-key cell changed to another valid value: rejected on its row, nothing overwritten
        contract = TABLES[case.table]
        position = data.draw(st.integers(0, n - 1), label="changed row")
        others = [c for c in contract.columns if c not in key and c != "authorized_by_parent"]  # that one stays empty
        column = data.draw(st.sampled_from(others), label="changed column")
        old = case.expected[position]
        if contract.types[column].kind == "bool":
            choices = st.just(not old[column])
        else:
            choices = value_strategy(case.table, column, case.fmt).filter(lambda v: v != old[column])
        if column not in contract.required and old[column] is not None:
            choices = st.none() | choices
        new_value = data.draw(choices, label="new value")
        changed = layout(case.table, case.fmt, [{**old, column: new_value}], extras=False)
        changed_path = data.draw(changed, label="changed file").write(directory, "changed")
        err = assert_rejected(engine, case.table, changed_path)
        assert all(m.startswith(f"{changed_path}: ") for m in err.messages), err.messages
        assert any(c.row == 2 for c in err.cells), err.cells
        assert stored(engine, case.table) == expected


def check_bad_cell(engine: sa.Engine, case: Case, row: int, column: str) -> None:
    event(f"bad cell: {case.fmt}, {TABLES[case.table].types[column].kind} column")
    reset(engine, case.table)  # independent examples: nothing an earlier one might have let through can conflict
    with files() as directory:
        path = case.write(directory)
        err = assert_rejected(engine, case.table, path)
        assert messages_at(err, path, row, column), f"no message for row {row}, column {column}:\n{err}"


def check_formula_text(engine: sa.Engine, table: str, column: str, text: str) -> None:
    rows = {
        "partners": {"partner_id": "F1", "name": "公式", "parent_company_id": "", "on_network_rights_platform": "0",
                     "cooperation_start": "2023-01-01"},
        "major_violations": {"violation_id": "F1", "partner_id": "P1", "violation_type": "1",
                             "occurred_on": "2024-01-05", "recorded_at": "2024-01-06T09:00:00",
                             "description": "违规", "bad_credit_list": "否"},
    }
    row = {**rows[table], column: text}
    key = TABLES[table].primary_key
    for fmt in ("csv", "xlsx"):
        reset(engine, table)
        case = Case(table, fmt, list(row), [[Cell(v) for v in row.values()]])
        with files() as directory:
            assert load(engine, table, case.write(directory)).inserted == 1
        (stored_row,) = stored(engine, table).values()
        expected = as_key(text) if column in TABLES[table].keys else text  # identifiers are stored NFKC-normalised
        assert stored_row[column] == expected, (fmt, stored_row[column])
        assert tuple(stored_row[c] for c in key) == ("F1",)


FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(A1)", "+1", "-1+2", "=HYPERLINK(\"http://x\",\"点我\")", "=1+1", "=",
            "-", "@", "+cmd|' /C notepad'!'A1'", "=DDE(\"cmd\";\"/C calc\";\"__DdeLink_60_870516294\")"]


def formula_texts(fmt: str) -> st.SearchStrategy[str]:
    built = st.tuples(st.sampled_from("=@+-"), st.text(ALPHABET[fmt], max_size=20)).map("".join).map(str.strip)
    return st.one_of(st.sampled_from(FORMULAS), built).filter(lambda s: all(map(_xlsx_safe, s)))


FORMULA_COLUMNS = st.sampled_from([("partners", "name"), ("partners", "parent_company_id"),
                                   ("major_violations", "description")])


# ---------------------------------------------------------------- SQLite: the heavy runs


@examples(80)
@given(case=valid_cases(), fmt=FORMATS, data=st.data())
def test_valid_random_rows_load_exactly_and_reload_is_a_no_op(sqlite_engine, case, fmt, data):
    """SPEC §1: rows satisfying the contract (random unicode text, any offset, any rendering, extra columns in any
    order) load with exactly their values; a re-load, also in the other format, inserts nothing; a changed re-load
    is a row error and overwrites nothing."""
    fmt = fmt if xlsx_safe_rows(case.expected) else "csv"
    again = data.draw(layout(case.table, fmt, case.expected), label="same rows again")
    check_valid_round_trip(sqlite_engine, case, again, data)


@examples(250)
@given(bad=bad_cell_cases())
def test_a_bad_cell_is_rejected_naming_file_row_and_column(sqlite_engine, bad):
    """SPEC §1: wrong types (text in date/decimal/int/bool columns), huge values (30 digits, beyond NUMERIC(p, s),
    beyond 64 bits, 100 000 characters), impossible dates (year 0 or 10000, Feb 30), absurd offsets, NUL characters,
    empty required cells and broken value rules are each a LoadError naming file, row and column; nothing is
    written."""
    check_bad_cell(sqlite_engine, *bad)


@examples(60)
@given(case=valid_cases(min_rows=0), data=st.data())
def test_missing_or_repeated_columns_are_header_errors(sqlite_engine, case, data):
    """SPEC §1 'column names are exact': each missing or repeated contract column is one message on row 1."""
    columns = list(TABLES[case.table].columns)
    missing = data.draw(st.sets(st.sampled_from(columns), min_size=1), label="missing")
    repeated = data.draw(st.sets(st.sampled_from([c for c in columns if c not in missing]), max_size=2),
                         label="repeated") if len(missing) < len(columns) else set()
    keep = [i for i, name in enumerate(case.header) if name not in missing]
    copies = [case.header.index(c) for c in sorted(repeated)]
    case.header = [case.header[i] for i in keep + copies]
    case.rows = [[row[i] for i in keep + copies] for row in case.rows]
    if not case.header:  # a header naming nothing at all would be an empty file, tested below; a column of no
        case.header = ["与本表无关的列"]  # table (备注 would be the alias of note, which then is not missing)
        case.rows = [[Cell("x")] for _ in case.rows]
    with files() as directory:
        path = case.write(directory)
        err = assert_rejected(sqlite_engine, case.table, path)
    assert all(m.startswith(f"{path}: ") for m in err.messages), err.messages
    assert {(c.row, c.column) for c in err.cells} == {(1, c) for c in missing | repeated}, err.cells


@examples(60)
@given(case=valid_cases(min_rows=2), data=st.data())
def test_duplicate_primary_keys_in_a_file_are_rejected(sqlite_engine, case, data):
    """SPEC §1: the primary key is unique within a file; the repeat names the key's column(s) and the first row."""
    key = TABLES[case.table].primary_key
    first = data.draw(st.integers(0, len(case.rows) - 2), label="first")
    repeat = data.draw(st.integers(first + 1, len(case.rows) - 1), label="repeat")
    for column in key:
        i = case.header.index(column)
        case.rows[repeat][i] = data.draw(render(case.table, column, case.expected[first][column], case.fmt))
    with files() as directory:
        path = case.write(directory)
        err = assert_rejected(sqlite_engine, case.table, path)
    label = key[0] if len(key) == 1 else f"({', '.join(key)})"
    hits = messages_at(err, path, repeat + 2, label)
    assert any("重复" in m and f"第 {first + 2} 行" in m for m in hits), err.messages


ENCODINGS = ["gbk", "gb18030", "big5", "shift_jis", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32"]
FOREIGN_TEXT = "中文咪咕联合会员繁體日本語テキストéàüßñ£"
INVALID_UTF8 = [b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xed\xa0\x80", b"\xf5\x80\x80\x80",
                b"\xe4\xb8", b"\xf0\x9f\x98", b"\xc3"]


def _decodes_as_gb18030(raw: bytes) -> bool:
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


@examples(100)
@given(case=valid_cases(max_rows=3, fmt="csv", extras=False), data=st.data())
def test_bad_encodings_are_load_errors(sqlite_engine, case, data):
    """SPEC §1 loader (issue 14): a CSV is UTF-8 or GB18030/GBK (what Excel on Chinese Windows saves). A latin-1/
    Big5/Shift-JIS/UTF-16 file, or a UTF-8 file with invalid bytes, is one LoadError saying it is not UTF-8 — unless
    its bytes are also valid GB18030 and the detector agrees, and then the load says it read the file as gb18030 (a
    loader cannot tell such bytes from a GBK file). NUL bytes anywhere are rejected. Nothing else is written."""
    reset(sqlite_engine, case.table)
    how = data.draw(st.sampled_from(["codec", "inject", "nul"]), label="how")
    codec = None
    event(f"encoding: {how}")
    if how == "codec":  # the file as a spreadsheet program saves it in a Chinese/Western/Unicode code page
        case.header.append("备注")
        for row in case.rows:
            row.append(Cell(data.draw(st.text(FOREIGN_TEXT, min_size=1, max_size=8), label="foreign text")))
        text = csv_bytes(case.header, case.rows).decode("utf-8")
        codec = data.draw(st.sampled_from(ENCODINGS), label="codec")
        raw = text.encode(codec, errors="replace")
    else:
        raw = csv_bytes(case.header, case.rows)
        inserts = data.draw(st.lists(st.tuples(st.integers(0, len(raw)), st.sampled_from(
            INVALID_UTF8 if how == "inject" else [b"\x00"])), min_size=1, max_size=3), label="inserts")
        for offset, chunk in sorted(inserts, reverse=True):
            raw = raw[:offset] + chunk + raw[offset:]
    try:
        raw.decode("utf-8-sig")
        valid_utf8 = True
    except UnicodeDecodeError:
        valid_utf8 = False
    # a foreign code page can happen to produce valid UTF-8 (mojibake no loader can tell from text): not bad input
    assume(not valid_utf8 or b"\x00" in raw)
    with files() as directory:
        path = directory / "encoded.csv"
        path.write_bytes(raw)
        before = counts(sqlite_engine)
        try:
            result = load(sqlite_engine, case.table, path)
        except LoadError as err:
            assert all(m.startswith(f"{path}: ") for m in err.messages), err.messages
            assert counts(sqlite_engine) == before
            if not valid_utf8 and codec not in ("gbk", "gb18030") and not _decodes_as_gb18030(raw):
                assert len(err.messages) == 1 and "不是" in err.messages[0] and "UTF-8" in err.messages[0], err.messages
            # bytes that are also GB18030 may be read as such and then rejected on what they say (a header that
            # became '馃榤onth'): one LoadError either way, nothing written
            return
    assert b"\x00" not in raw
    assert any("gb18030" in note for note in result.notes), result.notes
    event(f"read as gb18030: {codec or how}")


@examples(150)
@given(table=st.sampled_from(sorted(TABLES)), suffix=st.sampled_from([".csv", ".xlsx"]),
       raw=st.one_of(st.binary(max_size=3000), st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b)))
def test_random_bytes_are_load_errors(sqlite_engine, table, suffix, raw):
    """Whatever bytes a .csv or .xlsx file holds, the loader answers with a LoadError naming it, never a crash."""
    with files() as directory:
        path = directory / f"random{suffix}"
        path.write_bytes(raw)
        assert_rejected(sqlite_engine, table, path)


# A damage plan is drawn without looking at the file (an XLSX holds its creation time, so its bytes and length
# differ between runs): positions are fractions of the length, an overwrite XORs a non-zero mask.
DAMAGE_PLANS = st.tuples(
    st.sampled_from(["truncate", "overwrite", "insert", "delete", "zero"]),
    st.lists(st.tuples(st.integers(0, 2**20 - 1), st.integers(1, 255), st.binary(min_size=1, max_size=4),
                       st.integers(1, 64)), min_size=1, max_size=4),
)


def damage(raw: bytes, plan: tuple[str, list[tuple[int, int, bytes, int]]]) -> bytes:
    """``raw`` truncated, or with a few bytes overwritten, inserted or deleted, or a block zeroed."""
    how, edits = plan
    if how == "truncate":
        return raw[:edits[0][0] * len(raw) >> 20]
    data = bytearray(raw)
    for where, mask, chunk, size in edits:
        if not data:
            break
        at = where * len(data) >> 20
        if how == "overwrite":
            data[at] ^= mask
        elif how == "insert":
            data[at:at] = chunk
        elif how == "delete":
            del data[at:at + min(size, 4)]
        else:
            data[at:at + size] = bytes(len(data[at:at + size]))
    return bytes(data)


@examples(150)
@given(case=valid_cases(max_rows=3), plan=DAMAGE_PLANS)
def test_damaged_files_are_load_errors_or_load_what_they_say(sqlite_engine, case, plan):
    """A damaged file (truncated, bytes flipped, inserted, deleted) is a LoadError naming it; an XLSX that still
    loads (the damage hit bytes nobody reads) loads exactly its rows. Never another exception."""
    reset(sqlite_engine, case.table)
    with files() as directory:
        raw = case.write(directory, "original").read_bytes()
        path = directory / f"damaged.{case.fmt}"
        path.write_bytes(damage(raw, plan))
        before = counts(sqlite_engine)
        try:
            result = load(sqlite_engine, case.table, path)
        except LoadError as err:
            event(f"damaged {case.fmt}: rejected")
            assert all(m.startswith(f"{path}: ") for m in err.messages), err.messages
            assert counts(sqlite_engine) == before
            return
    event(f"damaged {case.fmt}: loaded")
    assert counts(sqlite_engine) == {**before, case.table: before[case.table] + result.inserted}
    if case.fmt == "xlsx":  # zip CRCs: a workbook either fails to open or holds what was written
        key = TABLES[case.table].primary_key
        assert stored(sqlite_engine, case.table) == {tuple(r[c] for c in key): r for r in case.expected}


EMPTY_CSV_PARTS = [b"", b" ", b"\t", b"\n", b"\r\n", b"\r", "\u3000".encode(), b"\x0b", b"\x0c"]


@examples(30)
@given(table=st.sampled_from(sorted(TABLES)), bom=st.booleans(),
       parts=st.lists(st.sampled_from(EMPTY_CSV_PARTS), max_size=6),
       sheet=st.lists(st.lists(st.sampled_from([None, "", " ", "\t", "\u3000"]), max_size=4), max_size=4))
def test_empty_files_are_load_errors(sqlite_engine, table, bom, parts, sheet):
    """An empty or whitespace-only CSV, and an XLSX whose first sheet has no header in row 1, are LoadErrors naming
    the file; nothing is written."""
    with files() as directory:
        path = directory / "empty.csv"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + b"".join(parts))
        assert "空" in str(assert_rejected(sqlite_engine, table, path))
        xlsx = directory / "empty.xlsx"
        write_xlsx(xlsx, [], [[Cell("", v) for v in row] for row in sheet])
        assert "没有表头" in str(assert_rejected(sqlite_engine, table, xlsx))


@examples(30)
@given(case=valid_cases(min_rows=0, max_rows=0), blank=st.lists(st.sampled_from(["", " ", "\t"]), max_size=3))
def test_header_only_files_load_nothing(sqlite_engine, case, blank):
    """SPEC §1 loader: a header with no rows (blank rows after it are skipped) is an empty batch: 0 inserted,
    nothing written."""
    case.rows = [[Cell(b, None if b == "" else TEXT) for _ in case.header] for b in blank]
    before = counts(sqlite_engine)
    with files() as directory:
        assert load(sqlite_engine, case.table, case.write(directory)) == LoadResult(case.table, 0, 0)
    assert counts(sqlite_engine) == before


@examples(60)
@given(target=FORMULA_COLUMNS, text=formula_texts("xlsx"))
def test_formula_like_text_is_kept_as_plain_text(sqlite_engine, target, text):
    """SPEC §1 loader: formula-like text (=cmd|' /C calc'!A0, @SUM(A1), +1, -1+2) in a text column is stored
    exactly as written after a CSV and an XLSX load — never evaluated, escaped or stripped of its sign."""
    assume(text and len(text) <= (TABLES[target[0]].types[target[1]].max_length or len(text)))
    check_formula_text(sqlite_engine, *target, text)


# ---------------------------------------------------------------- PostgreSQL: the same properties, fewer examples


@pytest.mark.postgres
@examples(PG_EXAMPLES)
@given(case=valid_cases(max_rows=3), fmt=FORMATS, data=st.data())
def test_valid_random_rows_load_exactly_and_reload_is_a_no_op_postgres(pg_engine, case, fmt, data):
    """As on SQLite: random valid rows (unicode, offsets, renderings) round-trip and re-load as a no-op."""
    fmt = fmt if xlsx_safe_rows(case.expected) else "csv"
    again = data.draw(layout(case.table, fmt, case.expected), label="same rows again")
    check_valid_round_trip(pg_engine, case, again, data)


@pytest.mark.postgres
@examples(PG_EXAMPLES * 2)
@given(bad=bad_cell_cases())
def test_a_bad_cell_is_rejected_naming_file_row_and_column_postgres(pg_engine, bad):
    """As on SQLite: a bad cell is a LoadError naming file, row and column (never a database error)."""
    check_bad_cell(pg_engine, *bad)


@pytest.mark.postgres
@examples(PG_EXAMPLES)
@given(target=FORMULA_COLUMNS, text=formula_texts("xlsx"))
def test_formula_like_text_is_kept_as_plain_text_postgres(pg_engine, target, text):
    """As on SQLite: formula-like text is stored exactly as written."""
    assume(text and len(text) <= (TABLES[target[0]].types[target[1]].max_length or len(text)))
    check_formula_text(pg_engine, *target, text)


# ---------------------------------------------------------------- the defects these properties found, pinned


@pytest.fixture
def seeded(engine):
    return _seed(engine)


def test_nul_character_in_a_text_cell_is_a_row_error(seeded, tmp_path):
    """A NUL inside a text cell crashed the load on PostgreSQL (psycopg2 ValueError) and was stored on SQLite."""
    path = tmp_path / "nul.csv"
    path.write_bytes(b"partner_id,name,parent_company_id,on_network_rights_platform,cooperation_start\n"
                     b"N1,ok,,true,2023-01-01\nN2,bad\x00name,,true,2023-01-01\n")
    err = assert_rejected(seeded, "partners", path)
    assert messages_at(err, path, 3, "name") and "NUL" in str(err), err.messages


@pytest.mark.parametrize("stamp", ["9999-12-31T20:00:00+00:00", "0001-01-01T00:00:00+14:00"])
def test_timestamp_leaving_the_calendar_after_conversion_is_a_row_error(seeded, tmp_path, stamp):
    """An offset that moves a timestamp out of years 1–9999 raised OverflowError out of the loader."""
    path = tmp_path / "stamp.csv"
    path.write_text("violation_id,partner_id,violation_type,occurred_on,recorded_at,description,bad_credit_list\n"
                    f"V1,P1,1,2024-01-05,{stamp},违规,否\n", encoding="utf-8")
    err = assert_rejected(seeded, "major_violations", path)
    assert messages_at(err, path, 2, "recorded_at"), err.messages


def test_workbook_damaged_inside_its_sheet_is_a_load_error(seeded, tmp_path):
    """A workbook whose sheet data is damaged raised zlib.error/BadZipFile/EOFError/… while its rows were read (the
    workbook itself opened fine)."""
    wb = openpyxl.Workbook()
    wb.active.append(["partner_id", "name", "parent_company_id", "on_network_rights_platform", "cooperation_start"])
    for i in range(300):
        wb.active.append([f"N{i}", "名字", "", i % 2 == 0, dt.date(2023, 1, 1) + dt.timedelta(days=i * 7919 % 3000)])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    name_length, extra_length = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    data_start = info.header_offset + 30 + name_length + extra_length
    middle = data_start + info.compress_size // 2
    raw[middle:middle + 32] = bytes(b ^ 0x5A for b in raw[middle:middle + 32])
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(raw))
    assert_rejected(seeded, "partners", path)
