"""What Dagster itself costs a year's daily step (issue 14): a no-op asset over 366 daily partitions in one run.

    python -m bench.events --db postgres        # a fresh instance database migu_bench_events, dropped afterwards
    python -m bench.events --db sqlite
    python -m bench.events --db postgres --storage postgres-plain   # dagster-postgres without the pool

The asset does no work and returns the metadata ``daily_complaint_counts`` returns (``--metadata full``: a row
count, a column schema, a markdown preview, three numbers) or a row count only (``--metadata small``). Dagster
records one ASSET_MATERIALIZATION_PLANNED event per partition before the step and one ASSET_MATERIALIZATION per
partition inside it, so the step's time is the floor that daily partitions put under the real step, whatever it
computes. Results are appended to ``bench/out/events.jsonl``.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import dagster as dg

from bench.common import OUT, create_pg_database, drop_pg_database, instance_storage_yaml

DB = "migu_bench_events"


def measure(metadata: str) -> dict:
    days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2025-01-01")
    preview = "| partner_id | day | complaints |\n|---|---|---|\n" + "\n".join(
        f"| P{i:05d} | 2024-01-{i % 28 + 1:02d} | {i} |" for i in range(10)
    )

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def counts() -> dg.MaterializeResult:
        meta: dict = {"dagster/row_count": 1_207_534}
        if metadata == "full":
            columns = [dg.TableColumn(f"c{i}", "string", description="说明") for i in range(6)]
            meta |= {"preview": dg.MetadataValue.md(preview), "dagster/column_schema": dg.TableSchema(columns=columns),
                     "days": "2024-01-01 .. 2025-01-01", "partner_days_notified": 1, "notifications": 1}
        return dg.MaterializeResult(metadata=meta)

    job = dg.define_asset_job("events", selection=[counts], partitions_def=days)
    defs = dg.Definitions(assets=[counts], jobs=[job])
    instance = dg.DagsterInstance.get()
    t = time.perf_counter()
    result = defs.resolve_job_def("events").execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-12-31"},
    )
    run_seconds = time.perf_counter() - t
    (step,) = instance.get_run_step_stats(result.run_id)
    return {"metadata": metadata, "run_seconds": round(run_seconds, 2),
            "step_seconds": round(step.end_time - step.start_time, 2), "partitions": 366}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["postgres", "sqlite"], required=True)
    ap.add_argument("--storage", choices=["postgres", "postgres-plain"], default="postgres",
                    help="on PostgreSQL: the pooled storage of deploy/dagster.yaml, or dagster-postgres' own")
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="events-", dir=OUT)
    storage = instance_storage_yaml(DB, args.storage) if args.db == "postgres" else ""
    with open(os.path.join(home, "dagster.yaml"), "w") as f:
        f.write("telemetry:\n  enabled: false\n" + storage)
    os.environ["DAGSTER_HOME"] = home
    if args.db == "postgres":
        create_pg_database(DB)
    try:
        results = [measure(m) for m in ("full", "small", "full")]
    finally:
        if args.db == "postgres":
            drop_pg_database(DB)
        shutil.rmtree(home, ignore_errors=True)
    out = {"db": args.db, "storage": args.storage if args.db == "postgres" else "sqlite", "results": results}
    with (OUT / "events.jsonl").open("a") as f:
        f.write(json.dumps(out) + "\n")
    json.dump(out, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
