"""The code location in the real UI server (issue 7): `dagster-webserver -m migu_assets.definitions` starts, its
GraphQL API lists the chain's assets with their groups and partitions, and shows a materialised month of
credit_grades in the partition status. The server always stops, in a ``finally``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from dagster_helpers import materialize_range

from migu_assets.warehouse import migrate
from migu_assets.warehouse.engine import engine_for

START_TIMEOUT = 90
CHAIN = {
    "daily_complaint_counts": "complaints_and_warnings",
    "warning_tiers": "complaints_and_warnings",
    "health_scores": "credit",
    "importance_scores": "credit",
    "monthly_credit_scores": "credit",
    "credit_scores": "credit",
    "credit_grades": "credit",
    "control_actions": "control_actions",
    "settlements": "settlement",
    "renewal_decisions": "renewal_and_exit",
    "monthly_report": "reporting",
    "partners": "sources",
}
ASSET_GRAPH = "{ assetNodes { assetKey { path } groupName partitionDefinition { description } } }"
PARTITION_STATUS = """
{ assetNodeOrError(assetKey: {path: ["credit_grades"]}) {
    __typename
    ... on AssetNode {
      partitionStats { numMaterialized numPartitions numFailed numMaterializing }
      assetPartitionStatuses {
        __typename
        ... on TimePartitionStatuses { ranges { startKey endKey status } }
      }
    }
} }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(base: str, query: str) -> dict:
    req = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.load(resp)
    assert "errors" not in body, body["errors"]
    return body["data"]


def wait_until_up(base: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base}/server_info", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not answer /server_info within {START_TIMEOUT} s:\n{log.read_text()[-4000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and its code-server child: the process group this test started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.mark.slow
def test_webserver_shows_the_asset_graph_and_partition_status(tmp_path, monkeypatch):
    dagster_home, migu_home = tmp_path / "dagster_home", tmp_path / "migu_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    url = f"sqlite:///{migu_home / 'warehouse.db'}"
    migrate.upgrade(engine_for(url))
    monkeypatch.setenv("MIGU_HOME", str(migu_home))
    # one month of the chain recorded in this DAGSTER_HOME's instance, so the UI has a partition to show
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert materialize_range(url, "monthly_job", "2024-01-01", instance=instance).success

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "MIGU_HOME": str(migu_home), "MIGU_WAREHOUSE_URL": url}
    webserver = Path(sys.executable).with_name("dagster-webserver")
    log = tmp_path / "webserver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(webserver), "-m", "migu_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path,  # nothing in the working directory can shadow an installed package
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(base, proc, log)
        nodes = {tuple(n["assetKey"]["path"]): n for n in graphql(base, ASSET_GRAPH)["assetNodes"]}
        for asset, group in CHAIN.items():
            assert (asset,) in nodes, asset
            assert nodes[(asset,)]["groupName"] == group, asset
        assert "Monthly" in nodes[("credit_grades",)]["partitionDefinition"]["description"]
        assert "Daily" in nodes[("daily_complaint_counts",)]["partitionDefinition"]["description"]
        assert nodes[("partners",)]["partitionDefinition"] is None

        node = graphql(base, PARTITION_STATUS)["assetNodeOrError"]
        assert node["__typename"] == "AssetNode"
        stats = node["partitionStats"]
        assert stats["numMaterialized"] == 1 and stats["numFailed"] == 0
        assert stats["numPartitions"] >= 12  # monthly partitions since 2023-01 up to the last complete month
        ranges = node["assetPartitionStatuses"]["ranges"]
        assert {"startKey": "2024-01-01", "endKey": "2024-01-01", "status": "MATERIALIZED"} in ranges
    finally:
        stop(proc)
    assert proc.poll() is not None
