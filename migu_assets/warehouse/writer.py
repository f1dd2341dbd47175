"""Idempotent partition writes: delete exactly one partition's rows and insert the new ones in one transaction.

This is the pattern of Dagster's own SQL IO managers (delete the slice, insert, inside one connection). A failure
anywhere rolls the transaction back, so the previous rows stay. On PostgreSQL a transaction-scoped advisory lock
per table serialises the writers of a table; SQLite serialises writers itself.

The lock is per table, not per partition window: windows of different runs overlap (a daily backfill over a month
and the daily schedule's one day). With a lock per window, under READ COMMITTED the single-day DELETE does not see
the range run's uncommitted rows, both insert the same keys and one run fails with a duplicate key (a table without
a key would keep both). Writes are one DELETE + INSERT, so serialising them per table costs little.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa

INSERT_CHUNK = 5000


def _lock(conn: sa.Connection, table: sa.Table) -> None:
    """Hold the table's write lock until the transaction ends (PostgreSQL; SQLite has one writer anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": table.name})


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[Mapping]) -> int:
    n, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= INSERT_CHUNK:
            conn.execute(table.insert(), chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        conn.execute(table.insert(), chunk)
        n += len(chunk)
    return n


def replace_partition(
    engine: sa.Engine,
    table: sa.Table,
    column: str,
    start: dt.date,
    end: dt.date,
    rows: Sequence[Mapping] | Iterable[Mapping],
) -> int:
    """Replace the rows of ``table`` whose ``column`` lies in ``[start, end)`` by ``rows``, atomically.

    Every row must itself lie in the window: a row outside it would escape the next replacement, so it is an error.
    Returns the number of rows written.
    """
    col = table.c[column]
    rows = list(rows)
    for row in rows:
        value = row[column]
        if not (start <= value < end):
            raise ValueError(f"{table.name}: row with {column}={value} is outside the partition [{start}, {end})")
    with engine.begin() as conn:
        _lock(conn, table)
        conn.execute(table.delete().where(col >= start, col < end))
        return insert_rows(conn, table, rows)


def replace_all(engine: sa.Engine, table: sa.Table, rows: Iterable[Mapping]) -> int:
    """Replace every row of an unpartitioned table, atomically."""
    with engine.begin() as conn:
        _lock(conn, table)
        conn.execute(table.delete())
        return insert_rows(conn, table, rows)
