"""The one validation engine: a pandera schema built from a :class:`TableContract`, run lazily.

The frame it checks holds typed values (see :mod:`values`): one pandera ``Column`` per contract column carries
NOT NULL, the type check and the column's value rules; row rules and primary-key uniqueness are DataFrame-wide
checks. ``lazy=True`` collects every failure; each is turned back into a :class:`Finding` naming row and column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pandera.pandas as pa

from migu_assets.loader.contract import RowRule, TableContract, ValueRule
from migu_assets.loader.errors import Finding
from migu_assets.loader.values import ROW, Invalid, show, usable
from migu_assets.policy import Policy

Explain = Callable[[int], tuple[str, str]]  # position → (column, reason)


def _is_typed(value: Any) -> bool:
    return not isinstance(value, Invalid)


class _Compiled:
    """The pandera schema of one contract under one policy, and how to explain each of its checks."""

    def __init__(self, contract: TableContract, frame: pd.DataFrame, policy: Policy):
        self.contract, self.frame, self.policy = contract, frame, policy
        self.explain: dict[str, Explain] = {}
        self._records: list[dict[str, Any]] | None = None
        columns = {name: self._column(name) for name in contract.columns}
        # DataFrame-wide checks: pandera lists a failing row once per non-null cell; the ``__row__`` column is never
        # null, so every failing row is reported.
        wide = [self._row_check(rule) for rule in contract.row_rules]
        if contract.primary_key:
            wide.append(self._primary_key_check())
        self.schema = pa.DataFrameSchema(columns, checks=wide, strict=False, coerce=False, name=contract.name)

    def record(self, position: int) -> dict[str, Any]:
        if self._records is None:
            self._records = self.frame.to_dict("records")
        return self._records[position]

    # ------------------------------------------------------------ column checks
    def _column(self, name: str) -> pa.Column:
        type_name = f"{name}:type"
        self.explain[type_name] = lambda pos: (name, self.frame.at[pos, name].reason)
        checks = [pa.Check(_is_typed, element_wise=True, ignore_na=True, name=type_name)]
        for rule in self.contract.value_rules:
            if rule.column == name:
                checks.append(self._value_check(rule))
        return pa.Column(None, nullable=name not in self.contract.required, checks=checks, required=True)

    def _value_check(self, rule: ValueRule) -> pa.Check:
        policy, name = self.policy, f"{rule.column}:{rule.name}"

        def ok(value: Any) -> bool:
            return not usable(value) or rule.check(value, policy) is None

        self.explain[name] = lambda pos: (rule.column, rule.check(self.frame.at[pos, rule.column], policy) or "")
        return pa.Check(ok, element_wise=True, ignore_na=True, name=name)

    # ------------------------------------------------------------ DataFrame-wide checks
    def _row_check(self, rule: RowRule) -> pa.Check:
        policy, name = self.policy, f"{rule.column}:{rule.name}"

        def ok_row(values: tuple[Any, ...]) -> bool:
            if any(isinstance(v, Invalid) for v in values):
                return True  # the type check reports it
            return rule.check(dict(zip(rule.inputs, values, strict=True)), policy) is None

        def check(df: pd.DataFrame) -> pd.Series:
            rows = zip(*(df[c].tolist() for c in rule.inputs), strict=True)
            return pd.Series([ok_row(values) for values in rows], index=df.index, dtype=bool)

        self.explain[name] = lambda pos: (rule.column, rule.check(self.record(pos), policy) or "")
        return pa.Check(check, name=name)

    def _primary_key_check(self) -> pa.Check:
        key = self.contract.primary_key
        label = key[0] if len(key) == 1 else f"({', '.join(key)})"
        first_seen: dict[tuple[Any, ...], int] = {}
        duplicates: dict[int, int] = {}  # position → position of the first row with the key

        def check(df: pd.DataFrame) -> pd.Series:
            ok = []
            for position, values in enumerate(zip(*(df[c].tolist() for c in key), strict=True)):
                if all(usable(v) for v in values):
                    first = first_seen.setdefault(values, position)
                    if first != position:
                        duplicates[position] = first
                        ok.append(False)
                        continue
                ok.append(True)
            return pd.Series(ok, index=df.index, dtype=bool)

        def explain(pos: int) -> tuple[str, str]:
            values = ", ".join(f"{c}={show(self.frame.at[pos, c])}" for c in key)
            first_row = self.frame.at[duplicates[pos], ROW]
            return label, f"duplicate primary key {values}: the same key is already on row {first_row}"

        self.explain["primary_key"] = explain
        return pa.Check(check, name="primary_key")  # SPEC §1: the primary key is unique within the file

    # ------------------------------------------------------------ run
    def findings(self) -> list[Finding]:
        try:
            self.schema.validate(self.frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            return self._from_failure_cases(err.failure_cases)
        return []

    def _from_failure_cases(self, cases: pd.DataFrame) -> list[Finding]:
        found: set[Finding] = set()
        for check, column, index in cases[["check", "column", "index"]].itertuples(index=False):
            if index is None or pd.isna(index):
                raise RuntimeError(f"pandera reported a failure without a row: {check} on {column}")
            position = int(index)
            if check == "not_nullable":
                found.add(Finding(position, column, "a value is required (the column is NOT NULL in SPEC §1)"))
            elif check in self.explain:
                found.add(Finding(position, *self.explain[check](position)))
            else:  # pragma: no cover - every check the schema holds is named above
                found.add(Finding(position, str(column), f"failed check {check}"))
        return sorted(found)


def validate(contract: TableContract, frame: pd.DataFrame, policy: Policy) -> list[Finding]:
    """Every row-level failure of ``frame`` (typed values, RangeIndex, plus the ``__row__`` column)."""
    return _Compiled(contract, frame, policy).findings()
