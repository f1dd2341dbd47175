"""`migu-assets run` marks failed the runs an earlier, killed invocation left STARTED (issue 15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import pytest

from migu_assets.runner import mark_dead_runs_failed

SCRIPT = textwrap.dedent(
    """
    import time
    import dagster as dg
    from migu_assets.runner import _own_tags

    @dg.asset
    def slow():
        time.sleep(120)

    job = dg.Definitions(assets=[slow], jobs=[dg.define_asset_job("slow_job")]).resolve_job_def("slow_job")
    job.execute_in_process(instance=dg.DagsterInstance.get(), tags=_own_tags())
    """
)


def _wait_for_started(instance, timeout: float = 60.0) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if runs:
            return runs[0]
        time.sleep(0.5)
    raise AssertionError("the run never started")


@pytest.mark.slow  # kills a process
def test_a_killed_runs_leftover_is_marked_failed_and_a_live_one_is_not(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, start_new_session=True)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            run = _wait_for_started(instance)
            assert mark_dead_runs_failed(instance) == []  # its process is alive: left alone
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
            assert mark_dead_runs_failed(instance) == [run.run_id]
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
            assert mark_dead_runs_failed(instance) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
