"""The monthly report at full size (issue 14): one month's workbook, and a year's twelve one after another or in
worker processes, on a warehouse kept by ``bench.run --keep``.

    python -m bench.report --url postgresql+psycopg2://postgres@127.0.0.1:5432/migu_bench

Prints and appends to ``bench/out/report.jsonl``: the seconds to read the as-of state (credit results and measure
ledger), to build 2024-06 alone, and to build 2024-01…12 with 1 and with ``--workers`` processes.
"""

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import OUT


def main() -> None:
    from migu_assets import report
    from migu_assets.policy import load_policy_book

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--as-of", default="2025-01-31")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    book, as_of = load_policy_book(), dt.date.fromisoformat(args.as_of)
    months = [dt.date(2024, m, 1) for m in range(1, 13)]
    out: dict = {"url": sa.make_url(args.url).render_as_string(hide_password=True)}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        engine = sa.create_engine(args.url)
        t = time.perf_counter()
        with engine.connect() as conn:
            state = report.as_of_state(conn, book, as_of)
        out["state_seconds"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        one = report.build_report(engine, dt.date(2024, 6, 1), Path(tmp) / "one.xlsx", book=book, state=state)
        out["one_month_seconds"], out["one_month_rows"] = round(time.perf_counter() - t, 2), one.sheet_rows
        for workers in (1, args.workers):
            paths = [Path(tmp) / f"{workers}-{m:%m}.xlsx" for m in months]
            t = time.perf_counter()
            report.build_reports(args.url, months, paths, book, state, workers=workers)
            out[f"year_seconds_{workers}_workers"] = round(time.perf_counter() - t, 2)
    with (OUT / "report.jsonl").open("a") as f:
        f.write(json.dumps(out) + "\n")
    json.dump(out, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
