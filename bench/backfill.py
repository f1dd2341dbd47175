"""The UI-backfill question (issue 14): why a lineage-page backfill of the monthly assets splits into several runs.

    python -m bench.backfill --months 12

At demo size (``migu-assets quickstart`` data, SQLite warehouse and SQLite Dagster instance in
``bench/out/backfill``) it measures, for the same months:

1. **lineage page** — what *Assets → Lineage → select the monthly assets → Materialize → range of months* launches:
   an asset backfill (``PartitionBackfill.from_asset_partitions``, as the UI's GraphQL mutation builds it) of every
   monthly asset, executed by a real ``dagster-daemon``; wall time from submission to COMPLETED, and its runs;
2. **monthly_job** — what the job page's backfill does with the single-run policy: one run of ``monthly_job`` over
   the range (``migu_assets.runner``'s path, in process).

Why the first splits (read in ``daemon.log``): Dagster groups an asset into its parent's run only when the parent is
requested for exactly the asset's candidate partitions; across a trailing-window ``TimeWindowPartitionMapping``
(``start_offset`` < 0) the children of the requested months run past the range (2024-01…12 → up to 2025-02 when those
partitions exist), so the daemon logs "parent … is requesting a different set of partitions … cannot be grouped
together in the same run" and the asset waits for the next iteration, every
``dagster._daemon.controller.DEFAULT_DAEMON_INTERVAL_SECONDS = 30`` s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import OUT, ROOT, stop_process_group

BIN = Path(sys.executable).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    workdir = OUT / "backfill"
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "dagster_home").mkdir(parents=True)
    (workdir / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "MIGU_HOME": str(workdir), "DAGSTER_HOME": str(workdir / "dagster_home"),
           "MIGU_WAREHOUSE_URL": f"sqlite:///{workdir / 'warehouse.db'}"}
    os.environ.update(env)
    subprocess.run([str(BIN / "migu-assets"), "quickstart", "--months", str(args.months)], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)

    import dagster as dg
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    from migu_assets.definitions import build_definitions
    from migu_assets.partitions import monthly_partitions
    from migu_assets.runner import run_months

    instance = dg.DagsterInstance.get()
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    monthly = sorted((k for k in graph.materializable_asset_keys if graph.get(k).partitions_def == monthly_partitions),
                     key=lambda k: k.to_user_string())
    first = dt.date(2024, 1, 1)
    months = [dt.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(args.months)]
    result: dict = {"assets": [k.to_user_string() for k in monthly], "months": len(months)}

    # 2) the monthly_job path first (no daemon needed): one run over the range
    t0 = time.perf_counter()
    reports = run_months(first, months[-1], defs=defs, instance=instance, progress=lambda _: None)
    result["monthly_job"] = {"runs": 1, "seconds": round(next(r.seconds for r in reports if r.job == "monthly_job"), 1),
                             "whole_run_months_seconds": round(time.perf_counter() - t0, 1)}

    # 1) the lineage-page path: an asset backfill driven by the daemon
    backfill_id = make_new_backfill_id()
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id, asset_graph=graph, partition_names=[m.isoformat() for m in months],
        asset_selection=monthly, backfill_timestamp=time.time(), tags={}, dynamic_partitions_store=instance,
        all_partitions=False, title="bench: lineage-page backfill", description=None, run_config=None)
    log = open(workdir / "daemon.log", "w", encoding="utf-8")  # noqa: SIM115 — closed in finally
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-m", "migu_assets.definitions"], cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(5)
        submitted = time.time()
        instance.add_backfill(backfill)
        status = None
        while time.time() - submitted < args.timeout:
            status = instance.get_backfill(backfill_id).status
            if status not in (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING):
                break
            time.sleep(1)
        finished = {"SUCCESS", "FAILURE", "CANCELED"}
        while time.time() - submitted < args.timeout:
            records = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            if records and all(r.dagster_run.status.value in finished for r in records):
                break
            time.sleep(1)
        done = time.time()
        records = sorted(instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id})),
                         key=lambda r: r.create_timestamp)
        result["lineage_backfill"] = {
            "status": str(status), "seconds": round(done - submitted, 1), "runs": len(records),
            "run_detail": [{"created_after": round(r.create_timestamp.timestamp() - submitted, 1),
                            "run_seconds": round(r.end_time - r.start_time, 1) if r.start_time and r.end_time else None,
                            "status": r.dagster_run.status.value,
                            "assets": len(r.dagster_run.asset_selection or [])} for r in records],
        }
    finally:
        stop_process_group(daemon, timeout=60)
        log.close()
    with (OUT / "backfill.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
