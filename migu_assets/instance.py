"""The Dagster instance's PostgreSQL storage, with its connections kept open between calls.

dagster-postgres opens a **new connection for every call** (a SQLAlchemy ``NullPool``) everywhere but in the
webserver, which switches each storage to a small pool at start-up (``optimize_for_webserver``). A run records
several events per step and reads partition status between them, so at our size a one-month ``monthly_job`` opened
~750 connections and a year's ``run`` ~3,250 — 6 ms each on a local server, 0.2 s of every step's overhead
(BENCHMARKS.md, "Issue 14 — third pass"). :class:`PooledPostgresStorage` is that same storage with the webserver's
pool everywhere: in ``migu-assets run``, the daemon, and every run process the daemon launches. Use it from
``dagster.yaml`` (``deploy/dagster.yaml``)::

    storage:
      custom:
        module: migu_assets.instance
        class: PooledPostgresStorage
        config:
          postgres_db: {...}   # exactly the keys of ``storage: postgres:``

Differences from the webserver's pool: no statement timeout (a run's own queries may take long), and a
connection is recycled after :data:`POOL_RECYCLE_S`. One connection is kept; concurrent callers (the daemon's
sensor threads) get up to :data:`MAX_OVERFLOW` more, closed when returned. As in the webserver, a connection the
server dropped (a PostgreSQL restart) fails the one call that finds it and the pool then connects anew; a step
failed that way is retried by the assets' ``RetryPolicy``, a run by ``run_retries`` (deploy/dagster.yaml).
"""

from __future__ import annotations

from typing import Any

from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

POOL_RECYCLE_S = 3600
MAX_OVERFLOW = 10
NO_STATEMENT_TIMEOUT = 0  # PostgreSQL's "no limit"


class PooledPostgresStorage(DagsterPostgresStorage):
    """``DagsterPostgresStorage`` whose run, event-log and schedule storages each keep a pooled connection."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data=None,
                 token_provider=None):
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        for storage in (self.run_storage, self.event_log_storage, self.schedule_storage):
            storage.optimize_for_webserver(NO_STATEMENT_TIMEOUT, POOL_RECYCLE_S, MAX_OVERFLOW)

    @classmethod
    def from_config_value(cls, inst_data, config_value: Any) -> PooledPostgresStorage:  # type: ignore[override]
        return cls(
            pg_url_from_config(config_value),
            config_value.get("should_autocreate_tables", True),
            inst_data,
            get_token_provider_from_config(config_value),
        )
