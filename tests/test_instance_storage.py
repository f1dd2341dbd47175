"""The Dagster instance's PostgreSQL storage keeps its connections open (``migu_assets.instance``, issue 14).

The same small job runs on an instance with dagster-postgres' own storage and on one with
:class:`PooledPostgresStorage`, each in its own fresh database; PostgreSQL's session counter for that database
(``pg_stat_database.sessions``) tells how many connections each opened. The shipped ``deploy/dagster.yaml`` names
the pooled class (the live test ``test_live_postgres.py`` runs the daemon and its run processes on it).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[1]


@dg.asset
def first() -> int:
    return 1


@dg.asset
def second(first: int) -> int:
    return first + 1


@dg.asset_check(asset=second)
def second_is_two(second: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=second == 2)


@dg.asset
def third(second: int) -> int:
    return second + 1


def _storage(kind: str, db: str) -> dict:
    pg = sa.make_url(PG_ADMIN_URL)
    postgres_db = {"username": pg.username or "postgres", "password": pg.password or "",
                   "hostname": pg.host or "127.0.0.1", "db_name": db, "port": pg.port or 5432,
                   "scheme": "postgresql+psycopg2"}
    if kind == "pooled":
        return {"custom": {"module": "migu_assets.instance", "class": "PooledPostgresStorage",
                           "config": {"postgres_db": postgres_db}}}
    return {"postgres": {"postgres_db": postgres_db}}


def _sessions(admin: sa.Engine, db: str) -> int:
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        return conn.execute(sa.text("SELECT sessions FROM pg_stat_database WHERE datname = :d"), {"d": db}).scalar_one()


def _connections_of_a_run(kind: str, tmp_path: Path, monkeypatch) -> tuple[int, bool]:
    """(connections the instance opened for one run of first → second (+ check) → third, run succeeded)."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    db = f"migu_instance_{kind}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        home = tmp_path / kind
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": _storage(kind, db),
                                                          "telemetry": {"enabled": False}}), encoding="utf-8")
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        instance = dg.DagsterInstance.get()  # read from $DAGSTER_HOME/dagster.yaml, as the CLI and daemon do
        try:
            job = dg.Definitions(assets=[first, second, third], asset_checks=[second_is_two],
                                 jobs=[dg.define_asset_job("chain")]).resolve_job_def("chain")
            job.execute_in_process(instance=instance)  # creates the tables: not counted
            before = _sessions(admin, db)
            result = job.execute_in_process(instance=instance)
            # the pool's connection closes with the instance; every session has ended once it is disposed
            instance.dispose()
            return _sessions(admin, db) - before, result.success
        finally:
            instance.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def test_the_pooled_instance_storage_runs_a_job_on_a_few_connections_where_dagster_postgres_opens_one_per_call(
    tmp_path, monkeypatch
):
    plain, plain_ok = _connections_of_a_run("plain", tmp_path, monkeypatch)
    pooled, pooled_ok = _connections_of_a_run("pooled", tmp_path, monkeypatch)
    assert plain_ok and pooled_ok
    # three steps and a check record ~30 events and read run and partition state in between: dagster-postgres
    # connects for each call; the pooled storage keeps one connection per storage (run, event log, schedule)
    assert plain >= 30, plain
    assert pooled <= 3, pooled


def test_the_shipped_instance_file_uses_the_pooled_storage_with_the_postgres_keys():
    storage = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))["storage"]
    custom = storage["custom"]
    assert (custom["module"], custom["class"]) == ("migu_assets.instance", "PooledPostgresStorage")
    assert set(custom["config"]["postgres_db"]) == {"username", "password", "hostname", "db_name", "port", "scheme"}
