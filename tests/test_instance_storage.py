"""The Dagster instance's PostgreSQL storage keeps its connections open (``migu_assets.instance``, issue 14).

The same small job runs on an instance with dagster-postgres' own storage and on one with
:class:`PooledPostgresStorage`, each in its own fresh database; PostgreSQL's session counter for that database
(``pg_stat_database.sessions``) tells how many connections each opened. The shipped ``deploy/dagster.yaml`` names
the pooled class (the live test ``test_live_postgres.py`` runs the daemon and its run processes on it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from migu_assets.settings import EVENT_BATCH_ENV, batch_asset_events
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


@contextmanager
def _instance_on(kind: str, tmp_path: Path, monkeypatch) -> Iterator[tuple[dg.DagsterInstance, sa.Engine, str]]:
    """(an instance on a fresh PostgreSQL database with ``kind`` storage, an admin engine, the database's name)."""
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
            yield instance, admin, db
        finally:
            instance.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def _connections_of_a_run(kind: str, tmp_path: Path, monkeypatch) -> tuple[int, bool]:
    """(connections the instance opened for one run of first → second (+ check) → third, run succeeded)."""
    with _instance_on(kind, tmp_path, monkeypatch) as (instance, admin, db):
        job = dg.Definitions(assets=[first, second, third], asset_checks=[second_is_two],
                             jobs=[dg.define_asset_job("chain")]).resolve_job_def("chain")
        job.execute_in_process(instance=instance)  # creates the tables: not counted
        before = _sessions(admin, db)
        result = job.execute_in_process(instance=instance)
        # the pool's connection closes with the instance; every session has ended once it is disposed
        instance.dispose()
        return _sessions(admin, db) - before, result.success


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


# ---------------------------------------------------------------- batched partition events (settings.batch_asset_events)
DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def counted_days(context):
    return dg.MaterializeResult(metadata={"dagster/row_count": len(context.partition_keys)})


def _batches_of_a_month_run(kind: str, tmp_path: Path, monkeypatch) -> tuple[list[int], set[str]]:
    """(sizes of the materialisation batches the event log stored, partitions materialised) for one run of
    ``counted_days`` over January 2024's 31 days, as ``migu-assets run`` executes a range."""
    sizes: list[int] = []
    with _instance_on(kind, tmp_path, monkeypatch) as (instance, _admin, _db):
        storage = instance.event_log_storage
        store_batch = storage.store_event_batch

        def spy(events):
            kinds = {e.dagster_event_type for e in events}
            if kinds == {dg.DagsterEventType.ASSET_MATERIALIZATION}:
                sizes.append(len(events))
            return store_batch(events)

        monkeypatch.setattr(storage, "store_event_batch", spy)
        job = dg.Definitions(assets=[counted_days], jobs=[dg.define_asset_job("days", partitions_def=DAYS)]
                             ).resolve_job_def("days")
        result = job.execute_in_process(instance=instance, tags={"dagster/asset_partition_range_start": "2024-01-01",
                                                                  "dagster/asset_partition_range_end": "2024-01-31"})
        assert result.success
        return sizes, set(instance.get_materialized_partitions(counted_days.key))


def test_a_steps_partition_materialisations_are_stored_in_one_batch_on_the_pooled_storage(tmp_path, monkeypatch):
    """issue 14: a year's daily step stored 366 materialisations one write each (~10 s on 2 cores); with
    ``DAGSTER_EVENT_BATCH_SIZE`` set by the code location they go to the database in one batch."""
    monkeypatch.delenv(EVENT_BATCH_ENV, raising=False)
    batch_asset_events()
    sizes, done = _batches_of_a_month_run("pooled", tmp_path, monkeypatch)
    assert sizes == [31]
    assert done == {f"2024-01-{d:02d}" for d in range(1, 32)}  # every partition recorded, as one by one


def test_event_batching_is_off_when_the_environment_says_0(tmp_path, monkeypatch):
    monkeypatch.setenv(EVENT_BATCH_ENV, "0")
    batch_asset_events()  # a value already set wins
    sizes, done = _batches_of_a_month_run("pooled", tmp_path, monkeypatch)
    assert sizes == []
    assert len(done) == 31


def test_the_code_location_turns_event_batching_on():
    """Loading the code location (as ``migu-assets run``, the daemon's run processes and the webserver do) sets it."""
    env = {k: v for k, v in os.environ.items() if k != EVENT_BATCH_ENV}
    probe = f"import os, migu_assets.definitions; print(os.environ.get({EVENT_BATCH_ENV!r}))"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert int(out.strip()) >= 366  # a year's daily partitions in one batch
