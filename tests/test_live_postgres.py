"""Live end to end on PostgreSQL (SPEC §9): the real daemon's major_violation_sensor terminates a partner.

Fresh PostgreSQL databases for the warehouse and for the Dagster instance; ``deploy/dagster.yaml`` as the instance
(PostgreSQL storage); ``migu-assets init``, ``demo`` and ``run`` through the command line; then ``dagster dev``
(webserver + daemon + code server) as a process group. A major violation recorded while it runs must, with no
other help, turn the partner's grade for the month into TERMINATED and its settlement into ``stopped``; the
sensor's runs (the month and the later materialised month) must succeed.

Measured here (2 cores, multiprocess executor): ≈ 20 s from the insert to the sensor's tick (15 s interval),
≈ 50 s per run (each of ~20 steps starts its own process). The whole test takes about three minutes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from factories import table_rows

from migu_assets.warehouse import schema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PG_ADMIN_URL = os.environ.get("MIGU_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SENSOR = "major_violation_sensor"
PARTNER, MONTH = "P0004", dt.date(2024, 2, 1)  # P0004 is not terminated in the demo (P0014 is, in 2024-04)


def _admin() -> sa.Engine:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}")
    return admin


@pytest.fixture
def databases():
    """Two fresh databases, ``(warehouse_url, dagster_db_name)``; dropped (connections forced out) afterwards."""
    admin = _admin()
    tag = uuid.uuid4().hex[:8]
    names = [f"migu_live_wh_{tag}", f"migu_live_dg_{tag}"]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.make_url(PG_ADMIN_URL).set(database=names[0]).render_as_string(hide_password=False), names[1]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str, interval: float = 1.0, alive=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _cli(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "migu-assets"), *args], env=env, cwd=env["MIGU_HOME"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"migu-assets {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    assert "errors" not in body, body
    return body["data"]


def _webserver_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


SENSOR_TICKS = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
    sensors { name sensorState { status ticks(limit: 5) { status timestamp } } } } } } }
"""

SENSOR_RUNS = """
{ runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "SENSOR"}]}) {
    ... on Runs { results { runId status tags { key value } } } } }
""".replace("SENSOR", SENSOR)


def _sensor_state(port: int) -> dict | None:
    for repo in _graphql(port, SENSOR_TICKS)["repositoriesOrError"].get("nodes", []):
        for sensor in repo["sensors"]:
            if sensor["name"] == SENSOR:
                return sensor["sensorState"]
    return None


def _sensor_runs(port: int) -> list[dict]:
    runs = _graphql(port, SENSOR_RUNS)["runsOrError"]["results"]
    for run in runs:
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
    return runs


def _grade_and_status(engine: sa.Engine) -> tuple[str | None, str | None]:
    g, s = schema.credit_grades, schema.settlements
    with engine.connect() as conn:
        grade = conn.execute(sa.select(g.c.grade).where(g.c.partner_id == PARTNER, g.c.month == MONTH)).scalar()
        status = conn.execute(sa.select(s.c.status).where(s.c.partner_id == PARTNER, s.c.month == MONTH)).scalar()
    return grade, status


def _stop(process: subprocess.Popen) -> None:
    """Stop the whole process group: SIGTERM (dagster dev shuts its children down), then SIGKILL."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived the leader
    if process.poll() is None:
        process.wait(10)


def test_major_violation_recorded_live_terminates_the_partner_through_the_daemon(databases, tmp_path):
    warehouse_url, dagster_db = databases
    pg = sa.make_url(PG_ADMIN_URL)
    home, migu_home = tmp_path / "dagster_home", tmp_path / "migu_home"
    home.mkdir()
    migu_home.mkdir()
    instance_yaml = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))
    instance_yaml["run_queue"]["dequeue_interval_seconds"] = 1  # the shipped file, with a quicker queue
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml), encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MIGU_", "DAGSTER_"))},
        "MIGU_WAREHOUSE_URL": warehouse_url,
        "MIGU_HOME": str(migu_home),
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_USER": pg.username or "postgres",
        "DAGSTER_PG_PASSWORD": pg.password or "",
        "DAGSTER_PG_HOST": pg.host or "127.0.0.1",
        "DAGSTER_PG_DB": dagster_db,
        "DAGSTER_PG_PORT": str(pg.port or 5432),
        "PYTHONUNBUFFERED": "1",
    }
    started = time.monotonic()
    _cli(env, "init")
    _cli(env, "demo", "--partners", "20", "--months", "3", "--start", "2024-01")
    _cli(env, "run", "--from", "2024-01", "--to", "2024-03")
    print(f"\ninit + demo + run: {time.monotonic() - started:.1f} s")
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    grade, status = _grade_and_status(engine)
    assert grade not in (None, "TERMINATED") and status not in (None, "stopped"), (grade, status)

    port = _free_port()
    log_path = tmp_path / "dagster-dev.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-m", "migu_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
            env=env,
            cwd=migu_home,  # an empty directory: nothing there can shadow an installed package
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive():
        if process.poll() is not None:
            raise AssertionError(f"dagster dev exited ({process.returncode}):\n{log_path.read_text()[-5000:]}")

    try:
        t = time.monotonic()
        _wait_for(lambda: _webserver_up(port), 120, "the webserver", alive=alive)
        print(f"webserver answering after {time.monotonic() - t:.1f} s")
        # The daemon's sensor loop has evaluated the sensor once (nothing to do yet): from now on it polls.
        state = _wait_for(
            lambda: (s := _sensor_state(port)) and s["ticks"] and s, 120, "the first sensor tick", alive=alive
        )
        assert state["status"] == "RUNNING"
        print(f"first sensor tick after {time.monotonic() - t:.1f} s")

        with engine.begin() as conn:
            conn.execute(
                schema.major_violations.insert(),
                {
                    "violation_id": "VLIVE01",
                    "partner_id": PARTNER,
                    "violation_type": 1,
                    "occurred_on": dt.date(2024, 2, 20),
                    "recorded_at": dt.datetime.now().replace(microsecond=0),
                    "description": "端到端测试：重大声誉危机事件",
                    "bad_credit_list": False,
                },
            )
        recorded = time.monotonic()
        _wait_for(
            lambda: _grade_and_status(engine) == ("TERMINATED", "stopped"),
            180,
            f"{PARTNER} {MONTH:%Y-%m} to be TERMINATED and its settlement stopped",
            alive=alive,
        )
        seconds = time.monotonic() - recorded
        print(f"violation recorded → {PARTNER} {MONTH:%Y-%m} TERMINATED + settlement stopped: {seconds:.1f} s")

        # The sensor asked for February and the later materialised month, March; both runs succeed.
        def finished():
            runs = _sensor_runs(port)
            done = len(runs) == 2 and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs)
            return runs if done else None

        runs = _wait_for(finished, 150, "the sensor's runs to finish", alive=alive)
        print(f"both sensor runs finished {time.monotonic() - recorded:.1f} s after the violation was recorded")
        assert sorted(r["tags"].get("dagster/partition") for r in runs) == ["2024-02-01", "2024-03-01"]
        assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"], runs
        assert {r["tags"].get("migu/violation_id") for r in runs} == {"VLIVE01"}
    finally:
        _stop(process)

    # February terminated P0004, so the sensor's March run no longer grades it.
    march = {r["partner_id"] for r in table_rows(engine, schema.credit_grades) if r["month"] == dt.date(2024, 3, 1)}
    assert march and PARTNER not in march
    engine.dispose()
