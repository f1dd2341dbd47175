"""The staging table: the file's typed rows in the warehouse, so every check that needs the warehouse is one SQL
statement (references, 独家授权, duplicate and existing keys, sum bounds) and the insert is ``INSERT … SELECT``.

PostgreSQL receives each batch with ``COPY … FROM STDIN (FORMAT csv)`` into a temporary table; SQLite with one
``executemany`` per batch, values already in the form SQLAlchemy stores them (timestamps as text, money as integer
cents, see ``ExactDecimal``). Everything happens inside the load's one transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from migu_assets.loader.contract import TableContract
from migu_assets.loader.values import show
from migu_assets.warehouse.writer import copy_from

REBUILD_FROM = 100_000  # new rows below which dropping and rebuilding indexes does not pay


class Stage:
    def __init__(self, conn: sa.Connection, contract: TableContract):
        self.conn, self.contract, self.target = conn, contract, contract.table
        self.postgres = conn.dialect.name == "postgresql"
        columns = [sa.Column(c.name, c.type) for c in self.target.columns]
        self.table = sa.Table(f"stage_{contract.name}", sa.MetaData(), *columns, sa.Column("__row__", sa.BigInteger),
                              sa.Column("__ok__", sa.Boolean), prefixes=["TEMPORARY"])
        if not self.postgres:  # a TEMP table left on this pooled SQLite connection by an interrupted load
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{self.table.name}")
        self.table.create(conn)
        self.names = [c.name for c in self.table.columns]
        self._copy = (f"COPY {self.table.name} ({', '.join(self.names)}) FROM STDIN "
                      "(FORMAT csv)") if self.postgres else None
        self._insert = (f"INSERT INTO {self.table.name} ({', '.join(self.names)}) "
                        f"VALUES ({', '.join('?' for _ in self.names)})")

    # ------------------------------------------------------------ writing
    def write(self, batch: pa.Table) -> None:
        batch = batch.select(self.names)
        if self.postgres:
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
            buffer.seek(0)
            copy_from(self.conn, self._copy, buffer)
        else:
            columns = [self._sqlite_values(name, batch[name].combine_chunks()) for name in self.names]
            self.conn.exec_driver_sql(self._insert, list(zip(*columns, strict=True)))

    def _sqlite_values(self, name: str, values: pa.Array) -> list[Any]:
        """A column as SQLAlchemy stores it on SQLite (see ``ExactDecimal`` and the SQLite DATE/DATETIME formats)."""
        if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
            values = pc.cast(values, pa.string())  # 2024-01-03 10:00:00.000000 / 2024-01-03, as SQLAlchemy writes
        elif pa.types.is_decimal(values.type):  # ExactDecimal stores the value itself on SQLite (migration 0107)
            values = pc.cast(values, pa.float64())
        return values.to_pylist()

    def analyze(self) -> None:
        if self.postgres:
            self.conn.exec_driver_sql(f"ANALYZE {self.table.name}")

    def drop(self) -> None:
        self.table.drop(self.conn)

    # ------------------------------------------------------------ set-based checks
    def _key_join(self) -> sa.ColumnElement[bool]:
        return sa.and_(*(self.target.c[k] == self.table.c[k] for k in self.contract.primary_key))

    def duplicates(self) -> Iterator[tuple[int, str, int]]:
        """(row, key as text, first row with the key) for every repeat of a primary key within the file."""
        s, key = self.table, self.contract.primary_key
        first = (sa.select(*(s.c[k] for k in key), sa.func.min(s.c.__row__).label("first"))
                 .where(*(s.c[k].is_not(None) for k in key)).group_by(*(s.c[k] for k in key))
                 .having(sa.func.count() > 1).subquery())
        query = (sa.select(s.c.__row__, first.c.first, *(s.c[k] for k in key))
                 .join(first, sa.and_(*(first.c[k] == s.c[k] for k in key)))
                 .where(s.c.__row__ > first.c.first).order_by(s.c.__row__))
        for row, first_row, *values in self.conn.execute(query):
            yield row, "、".join(f"{k}={show(v)}" for k, v in zip(key, values, strict=True)), first_row

    def existing(self) -> tuple[int, Iterator[tuple[int, str, Any, Any, str]]]:
        """How many well-formed rows are already in the warehouse unchanged, and the conflicts:
        (row, column, file value, warehouse value, key as text) for every cell that differs."""
        s, t, key = self.table, self.target, self.contract.primary_key
        others = [c for c in self.contract.columns if c not in key]
        differs = sa.or_(*(s.c[c].is_distinct_from(t.c[c]) for c in others)) if others else sa.false()
        joined = s.join(t, self._key_join())
        unchanged = self.conn.execute(sa.select(sa.func.count()).select_from(joined)
                                      .where(s.c.__ok__, sa.not_(differs))).scalar_one()

        def conflicts() -> Iterator[tuple[int, str, Any, Any, str]]:
            query = (sa.select(s.c.__row__, *(s.c[c] for c in self.contract.columns),
                               *(t.c[c].label(f"wh_{c}") for c in others))
                     .select_from(joined).where(s.c.__ok__, differs).order_by(s.c.__row__))
            for row in self.conn.execute(query):
                m = row._mapping
                key_text = "、".join(f"{k}={show(m[s.c[k]])}" for k in key)
                for c in others:
                    mine, theirs = m[s.c[c]], m[f"wh_{c}"]
                    if mine != theirs:
                        yield m[s.c.__row__], c, mine, theirs, key_text

        return unchanged, conflicts()

    def _new(self) -> sa.Select:
        s = self.table
        return (sa.select(*(s.c[c] for c in self.contract.columns))
                .where(s.c.__ok__, ~sa.exists().where(self._key_join())))

    def count_new(self) -> int:
        return self.conn.execute(sa.select(sa.func.count()).select_from(self._new().subquery())).scalar_one()

    def insert(self) -> int:
        """Insert the new rows. On SQLite, when they outnumber the rows already there, the table's non-unique
        indexes are dropped first and built again afterwards, in the same transaction (a failed load restores them):
        SQLite builds an index from sorted keys far faster than it inserts 3 M random keys one by one (3 M tickets:
        24 s against 59 s, BENCHMARKS.md). Unique indexes stay, so the database still enforces them row by row."""
        rebuild = self._indexes_to_rebuild()
        for name, _sql in rebuild:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
        insert = self.target.insert().from_select(list(self.contract.columns), self._new())
        inserted = self.conn.execute(insert).rowcount
        if rebuild:  # the index sorter may take as much memory as the page cache: halve it, so RSS stays flat
            cache = self.conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
            self.conn.exec_driver_sql(f"PRAGMA cache_size={cache // 2}")
            for _name, sql in rebuild:
                self.conn.exec_driver_sql(sql)
            self.conn.exec_driver_sql(f"PRAGMA cache_size={cache}")
        return inserted

    def _indexes_to_rebuild(self) -> list[tuple[str, str]]:
        if self.postgres:
            return []
        name = self.target.name
        indexes = self.conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
            "AND upper(sql) NOT LIKE 'CREATE UNIQUE%'", (name,)
        ).all()
        if not indexes:
            return []
        def rows(table: str) -> int:  # max(rowid): the row count of a table never deleted from, found in O(log n)
            return self.conn.exec_driver_sql(f"SELECT coalesce(max(rowid), 0) FROM {table}").scalar_one()

        incoming = rows(f'temp."{self.table.name}"')
        return [(n, sql) for n, sql in indexes] if incoming > max(rows(f'main."{name}"'), REBUILD_FROM) else []
