"""Engines for the warehouse URL: one cached engine per URL; SQLite gets WAL and a busy timeout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event


def normalise_url(url: str) -> str:
    """A bare ``postgresql://`` means psycopg 3 in SQLAlchemy 2.1; the project ships psycopg2."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


@cache
def engine_for(url: str) -> sa.Engine:
    url = normalise_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def is_postgres(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"
