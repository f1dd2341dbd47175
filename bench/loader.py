"""Loader benchmark (issue 14): a ``complaint_tickets`` CSV of N rows, loaded by ``migu-assets load`` and compared
with the bare database operation in the same run.

    python -m bench.loader generate --rows 3000000 --out bench/out/tickets-3m.csv
    python -m bench.loader measure --file bench/out/tickets-3m.csv --db postgres   # or sqlite
    python -m bench.loader xlsx --csv bench/out/tickets-1m.csv --rows 300000 --out bench/out/tickets-300k.xlsx

``measure`` makes a fresh warehouse (PostgreSQL database ``migu_bench_loader`` or a SQLite file), seeds the
partners, then times in this order, each in a fresh child process so peak RSS is per step:

1. bare: PostgreSQL ``COPY … FROM STDIN (FORMAT csv)`` of the same file into a typed copy of ``complaint_tickets``
   with its primary key and secondary indexes (what the load must at least do); on SQLite, ``executemany`` of the
   file's rows as text by the ``csv`` module into the same typed copy, in one transaction, with the loader's 128 MiB
   page cache (with SQLite's default 2 MiB cache the bare insert of 1 M rows took 123 s: index pages thrash);
2. ``migu-assets load complaint_tickets FILE`` (the CLI, the whole process: import, read, check, write, commit);
3. DuckDB ``read_csv`` with types and three validations (the engine the issue measured), for reference.

The result is printed as JSON (and appended to ``bench/out/loader.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import OUT, create_pg_database, pg_url

DB = "migu_bench_loader"
PROVINCES = np.array(["BJ", "TJ", "HE", "SX", "NM", "LN", "JL", "HL", "SH", "JS", "ZJ", "AH", "FJ", "JX", "SD", "HA",
                      "HB", "HN", "GD", "GX", "HI", "CQ", "SC", "GZ", "YN", "XZ", "SN", "GS", "QH", "NX", "XJ"])
HEADER = "ticket_id,partner_id,business_id,province,category,created_at,due_at,handled_at\n"


def generate(rows: int, partners: int, out: Path, seed: int = 14) -> None:
    """Tickets over 2024 for ``partners`` partners P00001…; ~30 % uninformed; 3 % still open."""
    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = np.datetime64("2024-01-01T00:00:00")
    chunk = 500_000
    with out.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for first in range(0, rows, chunk):
            n = min(chunk, rows - first)
            ids = np.char.add("T", np.char.zfill(np.arange(first, first + n).astype(str), 9))
            pid = np.char.add("P", np.char.zfill(rng.integers(0, partners, n).astype(str), 5))
            bid = np.char.add("B", np.char.zfill(rng.integers(0, 3 * partners, n).astype(str), 6))
            prov = PROVINCES[rng.integers(0, len(PROVINCES), n)]
            cat = np.where(rng.random(n) < 0.3, "uninformed_subscription", "other")
            created = start + rng.integers(0, 366 * 86_400, n).astype("timedelta64[s]")
            due = created + np.timedelta64(48 * 3600, "s")
            handled = created + rng.integers(60, 60 * 3600, n).astype("timedelta64[s]")
            c, d, h = (np.datetime_as_string(x, unit="s") for x in (created, due, handled))
            h = np.where(rng.random(n) < 0.03, "", h)
            lines = [",".join(r) for r in zip(ids, pid, bid, prov, cat, c, d, h, strict=True)]
            f.write("\n".join(lines) + "\n")


def _timed(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` under /usr/bin/time -v: wall seconds and peak RSS (MiB) of the child."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    rss = next((int(line.split()[-1]) / 1024 for line in proc.stderr.splitlines()
                if "Maximum resident set size" in line), None)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return {"seconds": round(wall, 2), "peak_rss_mib": round(rss, 1) if rss else None}


def _seed(url: str, partners: int) -> None:
    import datetime as dt

    import sqlalchemy as sa

    from migu_assets.warehouse import migrate
    from migu_assets.warehouse.engine import engine_for
    from migu_assets.warehouse.schema import partners as partners_table

    engine = engine_for(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM complaint_tickets"))
        conn.execute(partners_table.delete())
        conn.execute(partners_table.insert(), [
            {"partner_id": f"P{i:05d}", "name": f"伙伴{i}", "parent_company_id": None,
             "on_network_rights_platform": False, "cooperation_start": dt.date(2023, 1, 1)} for i in range(partners)])


BARE_PG = """
import sys, psycopg2
conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=sys.argv[1])
cur = conn.cursor()
cur.execute("DROP TABLE IF EXISTS bare_tickets")
cur.execute("CREATE TABLE bare_tickets (LIKE complaint_tickets INCLUDING INDEXES)")
with open(sys.argv[2], "rb") as f:
    cur.copy_expert("COPY bare_tickets FROM STDIN (FORMAT csv, HEADER true)", f)
conn.commit()
cur.execute("DROP TABLE bare_tickets"); conn.commit()
"""

BARE_SQLITE = """
import csv, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("PRAGMA cache_size=-131072")  # the loader's own page cache (128 MiB): the same footing
conn.execute("DROP TABLE IF EXISTS bare_tickets")
conn.execute("CREATE TABLE bare_tickets (ticket_id VARCHAR(64) PRIMARY KEY, partner_id VARCHAR(64) NOT NULL, "
             "business_id VARCHAR(64), province VARCHAR(32), category VARCHAR(32) NOT NULL, created_at DATETIME "
             "NOT NULL, due_at DATETIME NOT NULL, handled_at DATETIME)")
conn.execute("CREATE INDEX bare_c ON bare_tickets (created_at, category, partner_id)")
conn.execute("CREATE INDEX bare_d ON bare_tickets (due_at, partner_id, handled_at)")
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    r = csv.reader(f); next(r)
    conn.executemany("INSERT INTO bare_tickets VALUES (?,?,?,?,?,?,?,?)", ([c or None for c in row] for row in r))
conn.commit()
conn.execute("DROP TABLE bare_tickets"); conn.commit()
"""

DUCKDB = """
import sys, duckdb
q = '''SELECT count(*) FILTER (WHERE category NOT IN ('uninformed_subscription','other')),
              count(*) FILTER (WHERE due_at < created_at), count(*) FILTER (WHERE ticket_id IS NULL)
       FROM read_csv(?, header=true, columns={'ticket_id':'VARCHAR','partner_id':'VARCHAR','business_id':'VARCHAR',
       'province':'VARCHAR','category':'VARCHAR','created_at':'TIMESTAMP','due_at':'TIMESTAMP','handled_at':'TIMESTAMP'})'''
print(duckdb.sql(q.replace('?', repr(sys.argv[1]))).fetchall())
"""


def _fresh_warehouse(db: str, sqlite_name: str, partners: int) -> str:
    """An empty warehouse (database ``DB`` re-created, or the SQLite file ``bench/out/<sqlite_name>`` removed)
    holding only the seeded partners; returns its URL."""
    if db == "postgres":
        create_pg_database(DB)
        url = pg_url(DB)
    else:
        path = OUT / sqlite_name
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    _seed(url, partners)
    return url


def measure(file: Path, db: str, partners: int) -> dict:
    py = sys.executable
    url = _fresh_warehouse(db, "loader-bench.db", partners)
    rows = sum(1 for _ in file.open("rb")) - 1
    result = {"db": db, "file": str(file), "rows": rows, "bytes": file.stat().st_size, "cores": os.cpu_count()}
    if db == "postgres":
        result["bare"] = _timed([py, "-c", BARE_PG, DB, str(file)])
    else:
        result["bare"] = _timed([py, "-c", BARE_SQLITE, str(OUT / "loader-bench.db"), str(file)])
    env = {**os.environ, "MIGU_WAREHOUSE_URL": url}
    cli = str(Path(py).with_name("migu-assets"))
    result["load"] = _timed([cli, "load", "complaint_tickets", str(file), "--no-progress"], env=env)
    result["duckdb"] = _timed([py, "-c", DUCKDB, str(file)])
    result["ratio_load_to_bare"] = round(result["load"]["seconds"] / result["bare"]["seconds"], 2)
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "loader.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")
    return result


def generate_xlsx(csv_file: Path, rows: int, out: Path) -> None:
    """The first ``rows`` rows of a tickets CSV as an XLSX sheet (openpyxl write-only)."""
    import csv

    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("投诉明细")
    with csv_file.open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.reader(f)):
            if i > rows:
                break
            ws.append(row)
    wb.save(out)


def measure_xlsx(file: Path, partners: int, db: str = "sqlite") -> dict:
    """Peak RSS and time of ``migu-assets load`` of an XLSX sheet into a fresh warehouse."""
    url = _fresh_warehouse(db, "loader-xlsx.db", partners)
    env = {**os.environ, "MIGU_WAREHOUSE_URL": url}
    cli = str(Path(sys.executable).with_name("migu-assets"))
    result = {"db": db, "file": str(file), "bytes": file.stat().st_size,
              "load": _timed([cli, "load", "complaint_tickets", str(file), "--no-progress"], env=env)}
    with (OUT / "loader.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--rows", type=int, required=True)
    g.add_argument("--partners", type=int, default=5000)
    g.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("measure")
    m.add_argument("--file", type=Path, required=True)
    m.add_argument("--db", choices=["postgres", "sqlite"], required=True)
    m.add_argument("--partners", type=int, default=5000)
    x = sub.add_parser("xlsx", help="write the first --rows rows of a tickets CSV as XLSX, then measure its load")
    x.add_argument("--csv", type=Path, required=True)
    x.add_argument("--rows", type=int, default=300_000)
    x.add_argument("--out", type=Path, required=True)
    x.add_argument("--partners", type=int, default=5000)
    x.add_argument("--db", choices=["postgres", "sqlite"], default="sqlite")
    args = ap.parse_args()
    if args.cmd == "generate":
        generate(args.rows, args.partners, args.out)
    elif args.cmd == "xlsx":
        if not args.out.exists():
            generate_xlsx(args.csv, args.rows, args.out)
        print(json.dumps(measure_xlsx(args.out, args.partners, args.db), indent=2))
    else:
        print(json.dumps(measure(args.file, args.db, args.partners), indent=2))


if __name__ == "__main__":
    main()
