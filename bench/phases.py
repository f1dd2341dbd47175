"""One benchmark phase per child process (``python -m bench.phases PHASE``), so each peak RSS is the phase's own.

The warehouse comes from ``MIGU_WAREHOUSE_URL`` and the Dagster instance from ``DAGSTER_HOME``, exactly as for
``migu-assets run``. Each phase prints one JSON line on stdout (progress goes to stderr).

- ``year``: ``migu_assets.runner.run_months(2024-01, 2024-12)`` — the daily run over 366 days, then the monthly
  run over 12 months — with the duration of every step from the instance's step stats.
- ``cli``: the whole ``migu-assets run`` process over the months, timed from outside (start-up included).
- ``month``: one month's chain: the monthly job for 2024-06, then its workbook (``report_job``), and, separately,
  the daily job for its 30 days.
- ``ratio``: ``migu_assets.compute.complaints.daily_counts`` (the row path) and ``daily_counts_select`` (what the
  asset inserts) over the year against the bare GROUP BY they are built on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _instance():
    import dagster as dg

    from migu_assets.runner import ensure_dagster_home

    ensure_dagster_home()
    return dg.DagsterInstance.get()


def _step_seconds(instance, run_id: str) -> dict[str, float]:
    return {s.step_key: round((s.end_time or 0) - (s.start_time or 0), 2) for s in instance.get_run_step_stats(run_id)}


def year(first: str, last: str) -> dict:
    from migu_assets.runner import run_months

    instance = _instance()
    start = time.perf_counter()
    reports = run_months(dt.date.fromisoformat(first), dt.date.fromisoformat(last), instance=instance, progress=_log)
    total = time.perf_counter() - start
    return {
        "seconds": round(total, 1),
        "runs": [
            {
                "job": r.job,
                "partitions": r.partitions,
                "seconds": round(r.seconds, 1),
                "steps": _step_seconds(instance, r.run_id),
                "rows": r.materialized,
                "checks_failed": r.checks_failed,
            }
            for r in reports
        ],
    }


def cli(first: str, last: str) -> dict:
    """The whole ``migu-assets run --from … --to …`` process, as staff start it: interpreter start, imports, the
    daily, monthly, status and workbook runs, and exit (what the issue's 128.7 s measured)."""
    import subprocess
    from pathlib import Path

    command = [str(Path(sys.executable).parent / "migu-assets"), "run", "--from", first[:7], "--to", last[:7]]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    runs = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("运行 ")]
    return {"seconds": round(seconds, 1), "command": " ".join(command[1:]), "runs": runs}


def month(key: str) -> dict:
    """The monthly chain of one month through ``monthly_job`` (and the month's daily run, timed apart)."""
    import calendar

    from migu_assets.definitions import defs
    from migu_assets.runner import _execute

    instance = _instance()
    day = dt.date.fromisoformat(key)
    last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    out = {}
    daily = _execute(defs.resolve_job_def("daily_job"), instance, day.isoformat(), last.isoformat())
    out["daily_seconds"] = round(daily.seconds, 1)
    monthly = _execute(defs.resolve_job_def("monthly_job"), instance, key, key)
    out["seconds"] = round(monthly.seconds, 1)
    out["steps"] = _step_seconds(instance, monthly.run_id)
    workbook = _execute(defs.resolve_job_def("report_job"), instance, key, key)  # what follows it (jobs.DOCUMENTS)
    out["report_seconds"] = round(workbook.seconds, 1)
    out["report_steps"] = _step_seconds(instance, workbook.run_id)
    out["daily_steps"] = _step_seconds(instance, daily.run_id)
    out["checks_failed"] = monthly.checks_failed + daily.checks_failed
    return out


def ratio(first: str, end: str, repeats: int) -> dict:
    """Median of ``repeats`` alternating timings: the row-path compute function and the SELECT the asset inserts
    (``daily_counts_select``, its rows fetched here) vs the bare query they wrap (rows fetched)."""
    import sqlalchemy as sa

    from migu_assets.compute.complaints import daily_counts, daily_counts_select
    from migu_assets.policy import load_policy_book
    from migu_assets.settings import warehouse_url
    from migu_assets.warehouse.engine import engine_for

    engine = engine_for(warehouse_url())
    book = load_policy_book()
    start, stop = dt.date.fromisoformat(first), dt.date.fromisoformat(end)
    lo, hi = dt.datetime.combine(start, dt.time()), dt.datetime.combine(stop, dt.time())
    bare = sa.text(
        "SELECT partner_id, date(created_at) AS day, count(*) FROM complaint_tickets "
        "WHERE category = 'uninformed_subscription' AND created_at >= :lo AND created_at < :hi "
        "GROUP BY partner_id, date(created_at)"
    )
    if engine.dialect.name == "sqlite":  # bind the timestamps the way SQLAlchemy stores them on SQLite
        lo_p, hi_p = (f"{d:%Y-%m-%d %H:%M:%S}.000000" for d in (lo, hi))
    else:
        lo_p, hi_p = lo, hi
    timings: dict[str, list[float]] = {"bare": [], "compute": [], "select": []}
    n_rows = {}
    with engine.connect() as conn:
        conn.execute(bare, {"lo": lo_p, "hi": hi_p}).fetchall()  # warm the cache once
        for _ in range(repeats):
            t = time.perf_counter()
            n_rows["bare"] = len(conn.execute(bare, {"lo": lo_p, "hi": hi_p}).fetchall())
            timings["bare"].append(time.perf_counter() - t)
            t = time.perf_counter()
            n_rows["compute"] = len(daily_counts(conn, book, start, stop))
            timings["compute"].append(time.perf_counter() - t)
            t = time.perf_counter()  # what the asset inserts (INSERT … SELECT), here fetched instead of inserted
            n_rows["select"] = len(conn.execute(daily_counts_select(book, start, stop, "bench")).fetchall())
            timings["select"].append(time.perf_counter() - t)
            _log(f"  bare {timings['bare'][-1]:.2f} s, compute {timings['compute'][-1]:.2f} s, "
                 f"select {timings['select'][-1]:.2f} s")
    med = {k: statistics.median(v) for k, v in timings.items()}
    return {
        "bare_seconds": round(med["bare"], 2),
        "compute_seconds": round(med["compute"], 2),
        "ratio": round(med["compute"] / med["bare"], 2),
        "select_seconds": round(med["select"], 2),
        "select_ratio": round(med["select"] / med["bare"], 2),
        "rows": n_rows,
        "all": {k: [round(x, 2) for x in v] for k, v in timings.items()},
    }


def main() -> None:
    from bench.common import load_average, peak_rss_mib

    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["cli", "year", "month", "ratio"])
    ap.add_argument("--first", default="2024-01-01")
    ap.add_argument("--last", default="2024-12-01")
    ap.add_argument("--month", default="2024-06-01")
    ap.add_argument("--end", default="2025-01-01")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", default="", help="write a cProfile file of the phase here")
    args = ap.parse_args()
    load_before = load_average()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    if args.phase == "cli":
        result = cli(args.first, args.last)
    elif args.phase == "year":
        result = year(args.first, args.last)
    elif args.phase == "month":
        result = month(args.month)
    else:
        result = ratio(args.first, args.end, args.repeats)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    result.update(peak_rss=peak_rss_mib(), load_before=load_before, load_after=load_average())
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
