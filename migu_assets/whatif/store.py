"""The scenario store: a copy of the warehouse's sources (and of the results before the range) to compute into.

- SQLite warehouse → a separate file ``$MIGU_HOME/scenarios/<name>.db``;
- PostgreSQL warehouse → a separate schema ``whatif_<name>`` in the same database, selected by the URL option
  ``-csearch_path=whatif_<name>`` (so Alembic, the assets and the writer use it without knowing).

The store is rebuilt from scratch on every run of the scenario: migrated to the newest revision with the project's
Alembic migrations, then filled with ``INSERT … SELECT`` from the published tables (on SQLite through ``ATTACH``).
The published tables are only read. Source tables are copied whole; output tables keep only their rows before the
first month of the range (the history the trailing windows, carried balances and escalations start from); nothing
of the range or after it is copied, so every row of the range in the store was computed under the draft.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import re
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from migu_assets.settings import migu_home
from migu_assets.warehouse import migrate
from migu_assets.warehouse.engine import engine_for, normalise_url
from migu_assets.warehouse.schema import OUTPUT_TABLES, SOURCE_TABLES

SCHEMA_PREFIX = "whatif_"
ATTACHED = "published"


class StoreError(RuntimeError):
    """The scenario store cannot be made (message in Chinese, for staff)."""


def scenario_name(text: str) -> str:
    """A name usable as a file name and a PostgreSQL schema: lower-case letters, digits and ``_``."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.strip().lower()).strip("_")[:40]
    return name or "draft"


def scenarios_dir() -> Path:
    return migu_home() / "scenarios"


def scenario_url(warehouse_url: str, name: str) -> str:
    """Where the scenario ``name`` of the warehouse at ``warehouse_url`` lives."""
    url = sa.make_url(normalise_url(warehouse_url))
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = (scenarios_dir() / f"{name}.db").resolve()
        if url.database and Path(url.database).resolve() == path:
            raise StoreError(f"情景库 {path} 与正式数据仓库是同一个文件")
        return f"sqlite:///{path}"
    if backend == "postgresql":
        return url.update_query_dict({"options": f"-csearch_path={SCHEMA_PREFIX}{name}"}).render_as_string(
            hide_password=False
        )
    raise StoreError(f"不支持的数据库类型：{backend}")


def describe(url: str) -> str:
    """The store for people: the SQLite file, or ``schema whatif_x in postgresql://…``."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    schema = parsed.query.get("options", "").split("search_path=")[-1]
    plain = parsed.difference_update_query(["options"]).render_as_string(hide_password=True)
    return f"PostgreSQL schema {schema}（{plain}）"


@contextlib.contextmanager
def scenario_lock(warehouse_url: str, name: str) -> Iterator[None]:
    """Hold the scenario ``name`` for one what-if run; a second run of the same name is refused, not interleaved.

    PostgreSQL: a session advisory lock on the warehouse; SQLite: ``flock`` on ``scenarios/<name>.lock``.
    """
    busy = StoreError(f"情景 {name} 正在被另一次试算使用：请稍后再试，或用 --name 换一个情景名")
    engine = engine_for(warehouse_url)
    if engine.dialect.name == "postgresql":
        key = f"migu_assets.whatif:{name}"
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}).scalar():
                raise busy
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
                conn.commit()
        return
    scenarios_dir().mkdir(parents=True, exist_ok=True)
    with open(scenarios_dir() / f"{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def history_condition(table: sa.Table, first_month: dt.date):
    """Rows of an output table before the range; ``None`` for a table that is not kept (partner_status)."""
    for column in ("month", "day"):
        if column in table.c:
            return table.c[column] < first_month
    return None


def _fresh_sqlite(url: str) -> None:
    path = Path(sa.make_url(url).database)
    engine_for(url).dispose()  # pooled connections would keep the old file (and its WAL) alive
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)


def _fresh_schema(published: sa.Engine, schema: str) -> None:
    with published.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))


def _copy(conn: sa.Connection, source_schema: str | None, target_schema: str | None, first_month: dt.date) -> dict:
    """``INSERT … SELECT`` every source table and the output history; returns rows copied per table."""
    copied = {}
    src_md, dst_md = sa.MetaData(), sa.MetaData()
    for table in [*SOURCE_TABLES.values(), *OUTPUT_TABLES.values()]:
        src = table.to_metadata(src_md, schema=source_schema)
        dst = table.to_metadata(dst_md, schema=target_schema)
        query = sa.select(*src.c)
        if table.name in OUTPUT_TABLES:
            condition = history_condition(src, first_month)
            if condition is None:
                continue
            query = query.where(condition)
        result = conn.execute(sa.insert(dst).from_select([c.name for c in dst.c], query))
        copied[table.name] = result.rowcount
    return copied


def prepare_store(warehouse_url: str, name: str, first_month: dt.date) -> tuple[str, dict[str, int]]:
    """Build the scenario store ``name`` afresh; returns its URL and the rows copied per table."""
    published = engine_for(warehouse_url)
    url = scenario_url(warehouse_url, name)
    if published.dialect.name == "sqlite":
        _fresh_sqlite(url)
        target = engine_for(url)
        migrate.upgrade(target)
        with target.connect() as conn:
            # ATTACH is refused inside a transaction: attach, end the autobegun one, copy in one transaction.
            conn.exec_driver_sql(f"ATTACH DATABASE ? AS {ATTACHED}", (str(sa.make_url(warehouse_url).database),))
            conn.commit()
            try:
                copied = _copy(conn, ATTACHED, None, first_month)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.exec_driver_sql(f"DETACH DATABASE {ATTACHED}")
                conn.commit()
        return url, copied
    schema = f"{SCHEMA_PREFIX}{name}"
    with published.connect() as conn:
        source_schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    if source_schema == schema:
        raise StoreError(f"情景 schema {schema} 与正式数据仓库是同一个 schema")
    _fresh_schema(published, schema)
    target = engine_for(url)
    migrate.upgrade(target)
    with target.begin() as conn:
        copied = _copy(conn, source_schema, schema, first_month)
    return url, copied
