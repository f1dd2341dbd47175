"""The partition writer alone (issue 14): ``replace_partition`` of a year of ``daily_complaint_counts`` rows.

    python -m bench.writer --db postgres --rows 1207534     # or --db sqlite

Writes the same synthetic rows (5,000 partners × 366 days, the year run's 1,207,534 rows) into a fresh warehouse
three ways, each in one transaction after deleting the window: the bulk writer (COPY / executemany of tuples), the
previous writer (SQLAlchemy ``insert()`` executemany of dicts, 5,000 a statement), and the bare database operation
(``INSERT … SELECT`` of the same rows from a temporary table already in the database: no client data at all).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

from bench.common import OUT, create_pg_database, pg_url

DB = "migu_bench_writer"


def rows(n: int) -> list[dict]:
    start = dt.date(2024, 1, 1)
    out = []
    for i in range(n):
        day, partner = divmod(i, 5000)
        complaints = 1 + (i * 7919) % 23
        out.append({"partner_id": f"P{partner:05d}", "day": start + dt.timedelta(days=day % 366),
                    "complaints": complaints, "notifications": complaints // 5})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["postgres", "sqlite"], required=True)
    ap.add_argument("--rows", type=int, default=1_207_534)
    args = ap.parse_args()
    from migu_assets.warehouse import migrate, writer
    from migu_assets.warehouse.engine import engine_for
    from migu_assets.warehouse.schema import daily_complaint_counts as t

    if args.db == "postgres":
        create_pg_database(DB)
        url = pg_url(DB)
    else:
        path = OUT / "writer-bench.db"
        for suffix in ("", "-wal", "-shm"):
            (OUT / f"writer-bench.db{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    engine = engine_for(url)
    migrate.upgrade(engine)
    data = rows(args.rows)
    window = (dt.date(2024, 1, 1), dt.date(2025, 1, 1))
    result: dict = {"db": args.db, "rows": len(data)}

    t0 = time.perf_counter()
    writer.replace_partition(engine, t, "day", *window, data)
    result["bulk_writer_seconds"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    with engine.begin() as conn:  # the previous writer: SQLAlchemy executemany of dicts, 5,000 rows a statement
        conn.execute(t.delete().where(t.c.day >= window[0], t.c.day < window[1]))
        for i in range(0, len(data), 5000):
            conn.execute(t.insert(), data[i:i + 5000])
    result["previous_writer_seconds"] = round(time.perf_counter() - t0, 2)

    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_copy AS SELECT * FROM daily_complaint_counts")
    t0 = time.perf_counter()
    with engine.begin() as conn:  # bare: the database moving the same rows, nothing from the client
        conn.execute(t.delete().where(t.c.day >= window[0], t.c.day < window[1]))
        conn.exec_driver_sql("INSERT INTO daily_complaint_counts SELECT * FROM bench_copy")
    result["bare_insert_select_seconds"] = round(time.perf_counter() - t0, 2)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_copy")
    result["bulk_to_bare"] = round(result["bulk_writer_seconds"] / result["bare_insert_select_seconds"], 2)
    result["previous_to_bare"] = round(result["previous_writer_seconds"] / result["bare_insert_select_seconds"], 2)
    with (OUT / "writer.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
