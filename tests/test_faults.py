"""SPEC §9 under faults: "a failed run leaves the previous rows intact", and a retry succeeds.

- A process killed (SIGKILL) in the middle of replacing a big partition: the previous rows stay, a retry works.
- The warehouse connection terminated by the server mid-transaction (``pg_terminate_backend``, as in a restart or
  failover): the Dagster run fails naming the database problem, the partition keeps its previous rows, a retry
  of the run succeeds.
- A warehouse server that refuses connections: the run fails with a clear error and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import signal
import socket
import subprocess
import sys
import textwrap
import time

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_helpers import defs_for, materialize_range
from factories import insert, table_rows

from migu_assets.demo import generate_demo
from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from migu_assets.warehouse import schema, writer
from migu_assets.warehouse.engine import engine_for

D = dt.date
DAILY = schema.daily_complaint_counts
JAN, FEB = D(2024, 1, 1), D(2024, 2, 1)

# The child replaces January of daily_complaint_counts with a big row set (2 000 partners × 31 days), one
# INSERT_CHUNK at a time, and says so after the DELETE and the first chunk — then keeps writing slowly until killed.
CHILD = textwrap.dedent(
    """
    import datetime as dt, pathlib, sys, time
    from migu_assets.warehouse import schema, writer
    from migu_assets.warehouse.engine import engine_for

    url, ready = sys.argv[1], pathlib.Path(sys.argv[2])
    jan = dt.date(2024, 1, 1)
    rows = [
        {"partner_id": f"K{p:05d}", "day": jan + dt.timedelta(days=d), "complaints": 9, "notifications": 1}
        for d in range(31)
        for p in range(2000)
    ]
    real_insert = writer.insert_rows

    def slow_insert(conn, table, rows):
        rows = list(rows)
        step = writer.INSERT_CHUNK
        for i in range(0, len(rows), step):
            real_insert(conn, table, rows[i : i + step])
            if i == 0:
                ready.write_text("deleted the old rows and inserted the first chunk; not committed")
            time.sleep(0.5)
        return len(rows)

    writer.insert_rows = slow_insert
    writer.replace_partition(engine_for(url), schema.daily_complaint_counts, "day", jan, dt.date(2024, 2, 1), rows)
    print("COMMITTED")
    """
)


def _day_rows(partners: range, complaints: int) -> list[dict]:
    return [
        {"partner_id": f"P{p:04d}", "day": JAN + dt.timedelta(days=d), "complaints": complaints, "notifications": 1}
        for d in range(31)
        for p in partners
    ]


def _wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.slow
def test_process_killed_mid_write_leaves_previous_rows_and_a_retry_succeeds(db_url, engine, tmp_path):
    writer.replace_partition(engine, DAILY, "day", JAN, FEB, _day_rows(range(30), 6))
    before = table_rows(engine, DAILY)
    assert len(before) == 30 * 31

    url = db_url
    if engine.dialect.name == "postgresql":
        url = sa.make_url(db_url).update_query_dict({"application_name": "migu_fault_child"}).render_as_string(False)
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: ready.exists() or child.poll() is not None, 60, "the child to start writing")
        assert child.poll() is None, f"the child ended early: {child.communicate()}"
        # Mid-transaction: other connections still see exactly the previous rows.
        assert table_rows(engine, DAILY) == before
        child.send_signal(signal.SIGKILL)
        out, _err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert "COMMITTED" not in out

    if engine.dialect.name == "postgresql":  # the server notices the dead client and rolls back
        _wait_for(lambda: not _backends(engine, "migu_fault_child"), 30, "the killed client's backend to end")
    assert table_rows(engine, DAILY) == before

    after = _day_rows(range(10, 50), 11)
    assert writer.replace_partition(engine, DAILY, "day", JAN, FEB, after) == len(after)
    assert len(table_rows(engine, DAILY)) == len(after)


def _backends(engine: sa.Engine, application_name: str) -> list:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": application_name}
        ).all()


# --------------------------------------------------------------------------------------------- Dagster runs
def _execute(db_url: str, month: str) -> dg.ExecuteInProcessResult:
    """``monthly_job`` for one month, not raising on failure (a failed run is the subject here)."""
    job = defs_for(db_url).resolve_job_def("monthly_job")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            instance=instance,
            tags={RANGE_START_TAG: month, RANGE_END_TAG: month},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )


def _failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Failed step → its error text with every cause (what the UI shows for the step)."""
    out = {}
    for event in result.all_events:
        if event.is_step_failure:
            error, parts = event.step_failure_data.error, []
            while error is not None:
                parts.append(f"{error.cls_name}: {error.message}")
                error = error.cause
            out[event.step_key] = "\n".join(parts)
    return out


def _violation(vid: str, pid: str, occurred: dt.date) -> dict:
    return {
        "violation_id": vid,
        "partner_id": pid,
        "violation_type": 1,
        "occurred_on": occurred,
        "recorded_at": dt.datetime(2024, 4, 2, 9, 0),
        "description": "故障测试：重大违规",
        "bad_credit_list": False,
    }


def _grades(engine: sa.Engine, month: dt.date) -> list[dict]:
    return [r for r in table_rows(engine, schema.credit_grades) if r["month"] == month]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_connection_terminated_mid_write_fails_the_run_and_keeps_the_partition(db_url, engine, monkeypatch):
    url = db_url
    generate_demo(engine, partners=20, months=2, start=JAN, progress=lambda _line: None)
    assert materialize_range(url, "daily_job", "2024-01-01", "2024-02-29").success
    assert materialize_range(url, "monthly_job", "2024-01-01", "2024-02-01").success
    before = _grades(engine, FEB)
    settlements_before = table_rows(engine, schema.settlements)
    assert {r["partner_id"]: r["grade"] for r in before}["P0004"] != "TERMINATED"
    # The recomputation would now terminate P0004 — unless the write is cut off.
    insert(engine, schema.major_violations, [_violation("VF001", "P0004", D(2024, 2, 20))])

    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    real_insert = writer.insert_rows
    killed: list[int] = []

    def insert_then_lose_the_server(conn, table, rows):
        rows = list(rows)
        if table is not schema.credit_grades:
            return real_insert(conn, table, rows)
        half = len(rows) // 2
        real_insert(conn, table, rows[:half])  # the old rows are deleted, half the new ones inserted
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as other:
            assert other.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
        killed.append(pid)
        return real_insert(conn, table, rows[half:])

    monkeypatch.setattr(writer, "insert_rows", insert_then_lose_the_server)
    try:
        result = _execute(url, "2024-02-01")
    finally:
        monkeypatch.undo()
        admin.dispose()
    assert killed, "the credit_grades write never ran"
    assert not result.success
    failures = _failures(result)
    assert list(failures) == ["credit_grades"], failures
    message = failures["credit_grades"]
    assert "OperationalError" in message
    assert "terminating connection due to administrator command" in message or "server closed" in message, message

    assert _grades(engine, FEB) == before  # no partial partition: the previous rows, all of them
    assert table_rows(engine, schema.settlements) == settlements_before  # downstream steps did not run

    retry = _execute(url, "2024-02-01")
    assert retry.success, _failures(retry)
    grades = {r["partner_id"]: r["grade"] for r in _grades(engine, FEB)}
    assert grades["P0004"] == "TERMINATED"
    assert set(grades) == {r["partner_id"] for r in before}
    status = {(r["partner_id"], r["month"]): r["status"] for r in table_rows(engine, schema.settlements)}
    assert status[("P0004", FEB)] == "stopped"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_warehouse_server_refusing_connections_fails_the_run_clearly(sqlite_url):
    """The resource points at a PostgreSQL URL where nothing listens: the run fails naming the connection problem;
    with the right URL the same run succeeds."""
    down = f"postgresql+psycopg2://postgres@127.0.0.1:{_closed_port()}/migu_nowhere"
    result = _execute(down, "2024-01-01")
    assert not result.success
    failures = _failures(result)
    assert failures, "no step failed"
    text = "\n".join(failures.values())
    assert "OperationalError" in text and "Connection refused" in text, text
    engine_for(down).dispose()

    engine = engine_for(sqlite_url)
    generate_demo(engine, partners=5, months=1, start=JAN, progress=lambda _line: None)
    assert materialize_range(sqlite_url, "daily_job", "2024-01-01", "2024-01-31").success
    retry = _execute(sqlite_url, "2024-01-01")
    assert retry.success, _failures(retry)
    assert _grades(engine, JAN)
