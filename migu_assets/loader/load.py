"""Load a CSV/XLSX file (or a frame of text cells) into one SPEC §1 source table, all or nothing.

Steps: header → typed cells → contract checks (pandera, :mod:`validate`) → warehouse checks (references,
独家授权, existing keys) → insert the new rows. Everything after reading runs in one transaction; if any row of
the batch fails, every failure is reported in one :class:`LoadError` and nothing is written.

Re-loading is idempotent by primary key: a row whose key already holds the same values (compared after type
conversion) counts as unchanged; one whose key holds different values is a conflict, never an overwrite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from migu_assets.loader.contract import TABLES, TableContract
from migu_assets.loader.errors import Finding, LoadError, LoadResult
from migu_assets.loader.read import RawTable, raw_table, read_file
from migu_assets.loader.references import fetch_in_chunks
from migu_assets.loader.validate import validate
from migu_assets.loader.values import ROW, converter, show
from migu_assets.policy import Policy
from migu_assets.warehouse.writer import insert_rows

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def load_file(engine: sa.Engine, table: str, path: Path | str, policy: Policy,
              progress: Progress | None = None) -> LoadResult:
    """Load a ``.csv`` (UTF-8, BOM allowed) or ``.xlsx`` (first sheet) file into ``table``.

    ``progress`` receives one line per step (read, contract checked, warehouse checked, written).
    """
    contract = contract_for(table)
    path = Path(path)
    raw = read_file(path)
    (progress or _quiet)(f"read {len(raw.rows)} rows from {path.name}")
    return _load(engine, contract, raw, policy, source=str(path), header_row=1, progress=progress or _quiet)


def load_frame(engine: sa.Engine, table: str, df: pd.DataFrame, policy: Policy, source: str = "frame",
               row_offset: int = 2) -> LoadResult:
    """Load a frame of text cells (as read from a file); row ``i`` (0-based) is reported as ``i + row_offset``."""
    contract = contract_for(table)
    # the same cleaning as a file: stripped text, empty → None, blank rows dropped (the others keep their numbers)
    raw = raw_table(list(df.columns), list(enumerate(df.astype(object).to_numpy().tolist(), start=row_offset)))
    return _load(engine, contract, raw, policy, source=source, header_row=row_offset - 1)


def contract_for(table: str) -> TableContract:
    if table not in TABLES:
        raise LoadError(f"unknown table {table!r}; known tables: {', '.join(sorted(TABLES))}")
    return TABLES[table]


# ---------------------------------------------------------------- steps
def _columns(contract: TableContract, raw: RawTable, source: str, header_row: int) -> dict[str, int]:
    """Contract column → its position in the header. Every contract column must be there exactly once."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(raw.header):
        positions.setdefault(name, []).append(i)
    problems = []
    for column in contract.columns:
        found = positions.get(column, [])
        if not found:
            problems.append(f"{source}: row {header_row}, column {column}: required column is missing from the header")
        elif len(found) > 1:
            problems.append(f"{source}: row {header_row}, column {column}: the column appears {len(found)} times in "
                            "the header")
    if problems:
        raise LoadError(problems)
    return {column: positions[column][0] for column in contract.columns}


def _typed_frame(contract: TableContract, raw: RawTable, where: dict[str, int]) -> pd.DataFrame:
    data: dict[str, list[Any]] = {}
    for column, index in where.items():
        convert = converter(contract.types[column])
        data[column] = [convert(cells[index]) for cells in raw.rows]
    data[ROW] = list(raw.row_numbers)
    return pd.DataFrame(data, dtype=object)


def _existing(conn: sa.Connection, contract: TableContract, records: list[dict[str, Any]],
              positions: Sequence[int]) -> tuple[list[int], int, list[Finding]]:
    """Split well-formed rows into new ones and unchanged ones; a changed row is a conflict finding."""
    table, key = contract.table, contract.primary_key
    keyed = {tuple(records[p][c] for c in key): p for p in positions}
    key_expr = table.c[key[0]] if len(key) == 1 else sa.tuple_(*(table.c[c] for c in key))
    keys = (k[0] for k in keyed) if len(key) == 1 else keyed
    found: dict[tuple[Any, ...], sa.Row] = {}
    for row in fetch_in_chunks(conn, sa.select(table), key_expr, keys):
        found[tuple(row._mapping[c] for c in key)] = row
    new, unchanged, conflicts = [], 0, []
    for k, position in keyed.items():
        existing = found.get(k)
        if existing is None:
            new.append(position)
            continue
        differing = [c for c in contract.columns if records[position][c] != existing._mapping[c]]
        if not differing:
            unchanged += 1
        key_text = ", ".join(f"{c}={show(v)}" for c, v in zip(key, k, strict=True))
        for c in differing:
            conflicts.append(Finding(position, c, (
                f"conflicts with the existing row for key {key_text}: the file has {show(records[position][c])}, "
                f"the warehouse has {show(existing._mapping[c])} (rows are never overwritten)"
            )))
    return sorted(new), unchanged, conflicts


def _lock(conn: sa.Connection, table: str) -> None:
    """Serialise two loads of the same table on PostgreSQL (SQLite serialises writers itself)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"migu_assets.loader:{table}"})


def _messages(contract: TableContract, frame: pd.DataFrame, findings: list[Finding], source: str) -> Iterator[str]:
    order = {c: i for i, c in enumerate(contract.columns)}
    rows = frame[ROW].tolist()
    for f in sorted(set(findings), key=lambda f: (rows[f.position], order.get(f.column, -1), f.reason)):
        yield f"{source}: row {rows[f.position]}, column {f.column}: {f.reason}"


def _load(engine: sa.Engine, contract: TableContract, raw: RawTable, policy: Policy, *, source: str,
          header_row: int, progress: Progress = _quiet) -> LoadResult:
    frame = _typed_frame(contract, raw, _columns(contract, raw, source, header_row))
    findings = validate(contract, frame, policy)
    progress(f"checked the data contract: {len({f.position for f in findings})} rows with problems")
    try:
        with engine.begin() as conn:
            _lock(conn, contract.name)
            for rule in contract.db_rules:
                findings += [Finding(pos, rule.column, reason) for pos, reason in rule.check(conn, frame, policy)]
            failed = {f.position for f in findings}
            clean = [p for p in range(len(frame)) if p not in failed]
            records = frame.drop(columns=[ROW]).to_dict("records")
            new, unchanged, conflicts = _existing(conn, contract, records, clean)
            findings += conflicts
            progress(f"checked against the warehouse: {len(new)} new, {unchanged} already present, "
                     f"{len({f.position for f in findings})} rows with problems")
            if findings:
                raise LoadError(_messages(contract, frame, findings, source))
            inserted = insert_rows(conn, contract.table, (records[p] for p in new))
    except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
        raise LoadError(f"{source}: the warehouse refused the rows, nothing was written: {exc.orig}") from exc
    return LoadResult(contract.name, inserted, unchanged)
