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
ORDERED_KINDS = frozenset({"text", "int", "date", "timestamp"})  # key kinds whose Arrow and SQL equality agree
DISTINCT_LIMIT = 100_000  # distinct values of a referencing column kept in memory (partner ids: ~5,000)
SQLITE_ROWS = 10_000  # rows converted to Python values at a time for the SQLite staging table
VALUES_ROWS = 250  # rows per INSERT into the SQLite staging table (x 10 columns: far below SQLite's 32,766 variables)
SORT_CACHE_KIB = 32 * 1024  # page cache while SQLite builds an index: its sorter's memory per worker thread


def _sqlite_form(values: pa.Array) -> pa.Array:
    """A column as SQLAlchemy stores it on SQLite (see ``ExactDecimal`` and the SQLite DATE/DATETIME formats)."""
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        return pc.cast(values, pa.string())  # 2024-01-03 10:00:00.000000 / 2024-01-03, as SQLAlchemy writes
    if pa.types.is_decimal(values.type):  # ExactDecimal stores the value itself on SQLite (migration 0107)
        return pc.cast(values, pa.float64())
    return values


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
        self.matched: int | None = None  # staged rows whose key the table holds; None until existing() ran
        self._forget()
        self._insert = self._values(VALUES_ROWS)

    # ------------------------------------------------------------ writing
    def _forget(self) -> None:
        # distinct values of the columns a reference rule checks, while they stay few (None: too many to keep)
        self.seen: dict[str, set[Any] | None] = {r.column: set() for r in self.contract.db_rules if r.distinct_values}
        key = self.contract.primary_key
        # a one-column key whose values Arrow tells apart exactly as the database does (text: byte for byte, as
        # SQLite's BINARY and PostgreSQL's deterministic collations): strictly increasing then means no repeat
        ordered = len(key) == 1 and self.contract.types[key[0]].kind in ORDERED_KINDS
        self.in_key_order, self._last_key = ordered, None

    def _follow_order(self, batch: pa.Table) -> None:
        """Whether the file's keys have been strictly increasing so far: then no key repeats (see duplicates)."""
        if not self.in_key_order or batch.num_rows == 0:
            return
        keys = batch[self.contract.primary_key[0]].combine_chunks()
        increasing = keys.null_count == 0 and (self._last_key is None or pc.greater(keys[0], self._last_key).as_py())
        if increasing and len(keys) > 1:
            increasing = pc.all(pc.greater(keys[1:], keys[:-1])).as_py()
        self.in_key_order, self._last_key = bool(increasing), keys[-1]

    def clear(self) -> None:
        """Forget every staged row (the file is read again from the start)."""
        self.conn.execute(self.table.delete())
        self._forget()

    def _collect(self, batch: pa.Table) -> None:
        for column, values in self.seen.items():
            if values is None:
                continue
            cells = batch[column].combine_chunks()
            if not pa.types.is_string(cells.type):
                self.seen[column] = None
                continue
            values.update(pc.unique(cells).drop_null().to_pylist())
            if len(values) > DISTINCT_LIMIT:
                self.seen[column] = None

    def write(self, batch: pa.Table) -> None:
        batch = batch.select(self.names)
        self._follow_order(batch)
        self._collect(batch)
        if self.postgres:
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
            buffer.seek(0)
            copy_from(self.conn, self._copy, buffer)
        else:
            self._write_sqlite(batch)

    def _write_sqlite(self, batch: pa.Table) -> None:
        """SQLITE_ROWS rows at a time become Python values (one flat row-major list: only these exist as Python
        objects at once) and go in as multi-row INSERTs on the DBAPI cursor itself (SQLAlchemy's per-statement
        overhead is not needed ~12,000 times per 3 M rows)."""
        columns = [_sqlite_form(batch[name].combine_chunks()) for name in self.names]
        width, step = len(self.names), VALUES_ROWS * len(self.names)
        cursor = self.conn.connection.dbapi_connection.cursor()
        try:
            for start in range(0, batch.num_rows, SQLITE_ROWS):
                flat: list[Any] = [None] * (min(SQLITE_ROWS, batch.num_rows - start) * width)
                for j, column in enumerate(columns):
                    flat[j::width] = column.slice(start, SQLITE_ROWS).to_pylist()
                whole = len(flat) - len(flat) % step
                for offset in range(0, whole, step):
                    cursor.execute(self._insert, flat[offset:offset + step])
                if whole < len(flat):
                    cursor.execute(self._values((len(flat) - whole) // width), flat[whole:])
        except self.conn.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(self._insert, None, exc, self.conn.dialect.loaded_dbapi.Error,
                                             dialect=self.conn.dialect) from exc
        finally:
            cursor.close()

    def _values(self, rows: int) -> str:
        """``INSERT … VALUES (…), (…), …`` of ``rows`` rows: one statement binds many rows, where ``executemany``
        pays Python's per-row overhead (3 M tickets: ~8 s against ~13 s to stage, bench/loader.py)."""
        one = f"({', '.join('?' for _ in self.names)})"
        return f"INSERT INTO {self.table.name} ({', '.join(self.names)}) VALUES {', '.join([one] * rows)}"

    def analyze(self) -> None:
        if self.postgres:
            self.conn.exec_driver_sql(f"ANALYZE {self.table.name}")

    def drop(self) -> None:
        self.table.drop(self.conn)

    # ------------------------------------------------------------ set-based checks
    def _key_join(self) -> sa.ColumnElement[bool]:
        return sa.and_(*(self.target.c[k] == self.table.c[k] for k in self.contract.primary_key))

    def duplicates(self) -> Iterator[tuple[int, str, int]]:
        """(row, key as text, first row with the key) for every repeat of a primary key within the file. None when
        the file's keys were strictly increasing (as an export sorted by its key is): then the GROUP BY over every
        staged key (1.8–2.6 s for 3 M tickets) is not needed."""
        if self.in_key_order:
            return
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
        (row, column, file value, warehouse value, key as text) for every cell that differs.

        Also counts every staged row whose key the warehouse holds (:attr:`matched`): when none does, :meth:`insert`
        needs no anti-join. An empty table is seen at once, without probing it for every staged key."""
        s, t, key = self.table, self.target, self.contract.primary_key
        if self.conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() is None:
            self.matched = 0
            return 0, iter(())
        others = [c for c in self.contract.columns if c not in key]
        differs = sa.or_(*(s.c[c].is_distinct_from(t.c[c]) for c in others)) if others else sa.false()
        joined = s.join(t, self._key_join())
        same = sa.and_(s.c.__ok__, sa.not_(differs))
        matched, unchanged = self.conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((same, 1), else_=0)), 0))
            .select_from(joined)).one()
        self.matched = matched

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
        """The staged rows to insert. Without the anti-join when :meth:`existing` found no staged key in the table:
        besides the lookups it saves, SQLite copies an ``INSERT … SELECT`` that reads its own target into a
        temporary table first (3 M tickets: 6.0 s with it, 3.3 s without)."""
        s = self.table
        new = sa.select(*(s.c[c] for c in self.contract.columns)).where(s.c.__ok__)
        return new if self.matched == 0 else new.where(~sa.exists().where(self._key_join()))

    def count_new(self) -> int:
        return self.conn.execute(sa.select(sa.func.count()).select_from(self._new().subquery())).scalar_one()

    def insert(self) -> int:
        """Insert the new rows. On SQLite, when they outnumber the rows already there, the table's non-unique
        indexes are dropped first and built again afterwards, in the same transaction (a failed load restores them):
        SQLite builds an index from sorted keys far faster than it inserts 3 M random keys one by one (3 M tickets:
        24 s against 59 s, BENCHMARKS.md). Unique indexes stay, so the database still enforces them row by row.
        The builds sort with SORT_CACHE_KIB of cache and the load's worker threads (``PRAGMA threads``, set in
        :func:`~migu_assets.loader.load._begin`)."""
        rebuild = self._indexes_to_rebuild()
        for name, _sql in rebuild:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
        insert = self.target.insert().from_select(list(self.contract.columns), self._new())
        inserted = self.conn.execute(insert).rowcount
        if rebuild:  # the sorter takes up to the page cache per thread: a smaller cache, so RSS stays flat
            cache = self.conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
            self.conn.exec_driver_sql(f"PRAGMA cache_size=-{SORT_CACHE_KIB}")
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
