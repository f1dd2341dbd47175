"""Helpers shared by the generator and the benchmark: database URLs, creating/dropping the bench database,
peak RSS, the machine description."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
BENCH_DB = "migu_bench"
BENCH_DAGSTER_DB = "migu_bench_dagster"  # Dagster's own tables (its alembic_version would clash with ours)


def pg_url(db: str) -> str:
    return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}"


def instance_storage_yaml(db: str, storage: str) -> str:
    """The ``storage:`` block of a dagster.yaml on PostgreSQL database ``db``: ``postgres`` is the product's
    (``migu_assets.instance.PooledPostgresStorage``, as in deploy/dagster.yaml), ``postgres-plain``
    dagster-postgres' own (a new connection per call), to measure the difference."""
    if storage == "postgres-plain":
        return f'storage:\n  postgres:\n    postgres_url: "{pg_url(db)}"\n'
    return ("storage:\n  custom:\n    module: migu_assets.instance\n    class: PooledPostgresStorage\n"
            f'    config:\n      postgres_url: "{pg_url(db)}"\n')


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _pg_admin():
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    conn.autocommit = True
    return conn


def drop_pg_database(name: str) -> None:
    conn = _pg_admin()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        conn.close()


def create_pg_database(name: str) -> None:
    """A fresh, empty database ``name`` (dropped first if it exists)."""
    drop_pg_database(name)
    conn = _pg_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def is_postgres(url: str) -> bool:
    return sa.make_url(url).get_backend_name() == "postgresql"


def sqlite_path(url: str) -> Path:
    return Path(sa.make_url(url).database)


def peak_rss_mib() -> dict[str, float]:
    """Peak resident set size of this process and of its largest waited-for child, in MiB (Linux: KiB units)."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self_mib": round(me, 1), "children_mib": round(children, 1)}


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


@contextmanager
def stopwatch(into: dict, key: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = round(time.perf_counter() - start, 2)


def machine() -> dict[str, object]:
    """nproc, memory, CPU model and the versions that matter for the figures."""
    import dagster
    import numpy
    import sqlalchemy

    info: dict[str, object] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "dagster": dagster.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "numpy": numpy.__version__,
        "sqlite": __import__("sqlite3").sqlite_version,
        "kernel": platform.release(),
    }
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            total_kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        info["memory_gib"] = round(total_kib / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info["cpu"] = next(line for line in f if line.startswith("model name")).split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    try:
        import psycopg2

        conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            info["postgresql"] = cur.fetchone()[0]
            for name in ("shared_buffers", "work_mem", "max_wal_size"):
                cur.execute(f"SHOW {name}")
                info[f"pg_{name}"] = cur.fetchone()[0]
        conn.close()
    except Exception:  # noqa: BLE001 — PostgreSQL is optional for a SQLite-only run
        pass
    return info


def run_phase(module: str, args: list[str], env: dict[str, str], log: Path, timeout: float) -> dict:
    """Run ``python -m module args`` in a child process (so its peak RSS is its own) and return the JSON it prints
    on its last stdout line."""
    with open(log, "a", encoding="utf-8") as err:
        proc = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=timeout,
            check=False,
        )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{module} {' '.join(args)} failed (exit {proc.returncode}); see {log}")
    return json.loads(lines[-1])


def stop_process_group(proc, timeout: float = 30) -> None:
    """Stop a child started with its own process group (``start_new_session=True``): SIGTERM, then SIGKILL."""
    import os
    import signal
    import subprocess

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
