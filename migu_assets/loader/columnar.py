"""Whole-column conversion and validation of one batch of rows (Apache Arrow compute kernels).

Each column's common spelling is converted at once (``2024-01-03T10:00:00``, ``12.50``, ``true``, plain text) and
checked by vector kernels; every other non-empty cell goes through the exact one-cell parser of :mod:`values`,
which accepts the other documented forms (offsets, ``2024/3/1``, ``是``) or says why the cell is wrong. The result
is an Arrow table of typed values — invalid cells empty — plus one :class:`Finding` per failing cell, and an
``__ok__`` column telling which rows had none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from migu_assets.loader.contract import TableContract
from migu_assets.loader.errors import Finding
from migu_assets.loader.labels import label
from migu_assets.loader.values import (
    CONTROL_PATTERN,
    ColumnType,
    Invalid,
    converter,
    normalise_key,
    show,
)
from migu_assets.policy import Policy

ARROW_TYPES: dict[str, Callable[[ColumnType], pa.DataType]] = {
    "text": lambda _: pa.string(),
    "bool": lambda _: pa.bool_(),
    "date": lambda _: pa.date32(),
    "timestamp": lambda _: pa.timestamp("us"),
    "decimal": lambda ct: pa.decimal128(ct.precision, ct.scale),
    "int": lambda _: pa.int64(),
}


def arrow_type(ct: ColumnType) -> pa.DataType:
    return ARROW_TYPES[ct.kind](ct)


def _indices(mask: pa.Array) -> list[int]:
    return pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()


def _fast(ct: ColumnType, text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(typed values, handled) for the spellings converted in bulk; ``handled`` is False where the one-cell parser
    must look (and null where the cell is empty)."""
    kind = ct.kind
    if kind == "text":
        ok = pc.invert(pc.match_substring_regex(text, CONTROL_PATTERN))
        if ct.max_length is not None:
            ok = pc.and_(ok, pc.less_equal(pc.utf8_length(text), ct.max_length))
        return text, ok
    if kind == "bool":
        lower = pc.utf8_lower(text)
        true = pc.is_in(lower, value_set=pa.array(["true", "1", "yes", "是"]))
        false = pc.is_in(lower, value_set=pa.array(["false", "0", "no", "否"]))
        return true, pc.or_(true, false)
    if kind == "date":
        shape = pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}$")
        return _strict_cast(pc.if_else(shape, text, pa.scalar(None, pa.string())), pa.date32(), "%Y-%m-%d", "s")
    if kind == "timestamp":
        shape = pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$")
        iso = pc.replace_substring(pc.if_else(shape, text, pa.scalar(None, pa.string())), " ", "T")
        return _strict_cast(iso, pa.timestamp("us"), "%Y-%m-%dT%H:%M:%S", "us")
    if kind == "decimal":
        digits = ct.precision - ct.scale
        shape = pc.match_substring_regex(text, rf"^[+-]?\d{{1,{digits}}}(\.\d{{1,{ct.scale}}})?$")
        plain = pc.replace_substring_regex(pc.if_else(shape, text, pa.scalar(None, pa.string())), r"^\+", "")
        return pc.cast(plain, arrow_type(ct)), pc.fill_null(shape, False)
    if kind == "int":
        shape = pc.match_substring_regex(text, r"^[+-]?\d{1,9}$")
        plain = pc.replace_substring_regex(pc.if_else(shape, text, pa.scalar(None, pa.string())), r"^\+", "")
        values = pc.cast(plain, pa.int64())
        low, high = ct.int_range or (-(2**63), 2**63 - 1)
        ok = pc.and_(pc.and_(shape, pc.greater_equal(values, low)), pc.less_equal(values, high))
        return values, pc.fill_null(ok, False)
    raise TypeError(kind)  # pragma: no cover


def _strict_cast(iso: pa.Array, to: pa.DataType, fmt: str, unit: str) -> tuple[pa.Array, pa.Array]:
    """ISO text → dates/timestamps; Arrow's cast rejects impossible days and hours, but as a whole array, so a batch
    holding one such cell is parsed again cell by cell (strptime, then a round trip: Feb 30 parses as Mar 1)."""
    try:
        values = pc.cast(iso, to)
        ok = pc.is_valid(iso)
    except pa.ArrowInvalid:
        parsed = pc.strptime(iso, format=fmt, unit=unit, error_is_null=True)
        suffix = ".000000" if unit == "us" else ""
        ok = pc.equal(pc.strftime(parsed, format=fmt), pc.binary_join_element_wise(iso, suffix, ""))
        values = pc.cast(parsed, to)
    ok = pc.and_(ok, pc.greater_equal(pc.year(values), 1))  # year 0 parses, but no database or Python holds it
    return values, pc.fill_null(ok, False)


def normalise_keys(text: pa.Array) -> tuple[pa.Array, int]:
    """:func:`normalise_key` on a column (NFKC, format characters removed, trimmed); how many cells changed.

    Plain ASCII cells — nearly all — are left as they are in bulk: NFKC keeps ASCII and every format character (Cf)
    lies outside it. The rest go through :func:`normalise_key` itself, so both paths give the same key."""
    odd = pc.invert(pc.fill_null(pc.string_is_ascii(text), True))
    if not pc.any(odd).as_py():
        return text, 0
    cells = text.to_pylist()
    changed = 0
    for i in _indices(odd):
        fixed = normalise_key(cells[i]) or None
        if fixed != cells[i]:
            cells[i] = fixed
            changed += 1
    return pa.array(cells, pa.string()), changed


class Batch:
    """One batch converted and checked: ``table`` (typed, invalid cells null, plus ``__row__`` and ``__ok__``)."""

    def __init__(self, contract: TableContract, numbers: list[int] | pa.Array,
                 cells: dict[str, list[str | None] | pa.Array], policy: Policy):
        numbers = numbers if isinstance(numbers, pa.Array) else pa.array(numbers, pa.int64())
        self.contract, self.numbers, self.policy = contract, numbers, policy
        self.findings: list[Finding] = []
        self.normalised = 0
        n = len(numbers)
        typed: dict[str, pa.Array] = {}
        invalid: dict[str, pa.Array] = {}
        for column in contract.columns:
            ct = contract.types[column]
            given = cells[column]
            text = given if isinstance(given, pa.Array) else pa.array(given, pa.string())
            if column in contract.keys:
                text, changed = normalise_keys(text)
                self.normalised += changed
            values, handled = _fast(ct, text)
            handled = pc.fill_null(handled, False)
            values = pc.if_else(handled, values, pa.scalar(None, arrow_type(ct)))
            slow = pc.and_(pc.is_valid(text), pc.invert(handled))
            bad = pa.array([False] * n)
            if pc.any(slow).as_py():
                values, bad = self._slow(column, ct, text, values, slow)
            typed[column] = values
            invalid[column] = bad
            if column in contract.required:
                for i in _indices(pc.is_null(text)):
                    self._add(i, column, "", f"{label(column)}必须填写", "必须填写（此列不能为空）")
        typed = {c: pc.if_else(invalid[c], pa.scalar(None, arrow_type(contract.types[c])), typed[c])
                 for c in contract.columns}
        for rule in contract.value_rules:
            for i in _indices(rule.vector(typed[rule.column], policy)):
                value = typed[rule.column][i].as_py()
                self._add(i, rule.column, show(value), rule.title, rule.check(value, policy) or "")
        for rule in contract.row_rules:
            skip = invalid[rule.inputs[0]]
            for c in rule.inputs[1:]:
                skip = pc.or_(skip, invalid[c])
            bad = pc.and_(rule.vector({c: typed[c] for c in rule.inputs}, policy), pc.invert(skip))
            for i in _indices(bad):
                row = {c: typed[c][i].as_py() for c in rule.inputs}
                self._add(i, rule.column, show(row[rule.column]), rule.title, rule.check(row, policy) or "")
        failed = pa.array(sorted({f.row for f in self.findings}), pa.int64())
        ok = pc.invert(pc.is_in(numbers, value_set=failed))
        self.table = pa.table({**typed, "__row__": numbers, "__ok__": ok})

    def _slow(self, column: str, ct: ColumnType, text: pa.Array, values: pa.Array,
              slow: pa.Array) -> tuple[pa.Array, pa.Array]:
        convert = converter(ct)
        cells = text.to_pylist()
        merged: list[Any] = values.to_pylist()
        bad = [False] * len(cells)
        for i in _indices(slow):
            value = convert(cells[i])
            if isinstance(value, Invalid):
                merged[i] = None
                bad[i] = True
                self._add(i, column, show(value), f"{label(column)}格式不对：应为{ct.describe()}", value.reason)
            else:
                merged[i] = value
        return pa.array(merged, arrow_type(ct)), pa.array(bad, pa.bool_())

    def _add(self, position: int, column: str, value: str, rule: str, reason: str) -> None:
        self.findings.append(Finding(self.numbers[position].as_py(), column, value, rule, reason))
