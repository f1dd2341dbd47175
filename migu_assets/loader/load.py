"""Load a CSV/XLSX file (or a frame of text cells) into one SPEC §1 source table, all or nothing.

The file streams through in batches (:mod:`read`): each batch is converted and checked column by column
(:mod:`columnar`) and written to a staging table (:mod:`stage`; COPY on PostgreSQL). Then the checks that need the
whole file or the warehouse run as SQL over the staging table — duplicate keys, references, 独家授权, sum bounds,
existing keys — and, if nothing failed, ``INSERT … SELECT`` moves the new rows into the table. All of it is one
transaction, serialised per table (an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite): a rejected file
writes nothing, also when the error is in its last row, and two loads cannot both pass a check the other breaks.

Re-loading is idempotent by primary key: a row whose key already holds the same values (compared after type
conversion) counts as unchanged; one whose key holds different values is a conflict, never an overwrite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from migu_assets.loader import columnar
from migu_assets.loader.contract import TABLES, TableContract
from migu_assets.loader.errors import Finding, Findings, LoadError, LoadResult, write_rejection
from migu_assets.loader.labels import label, match_header
from migu_assets.loader.read import Irregular, Source, frame_source, open_source
from migu_assets.loader.stage import Stage
from migu_assets.loader.values import show
from migu_assets.policy import Policy
from migu_assets.settings import usable_cores

Progress = Callable[[str], None]
SQLITE_CACHE_KIB = 128 * 1024
Ticker = Callable[[int, int], None]  # (done, total) in the source's unit (bytes of a CSV, rows of a sheet)


def _quiet(*_: object) -> None:
    return None


def load_file(engine: sa.Engine, table: str, path: Path | str, policy: Policy, progress: Progress | None = None, *,
              encoding: str | None = None, sheet: str | None = None, errors: Path | None = None,
              dry_run: bool = False, ticker: Ticker | None = None) -> LoadResult:
    """Load a ``.csv`` (UTF-8, UTF-8 BOM or GB18030/GBK; ``encoding`` forces one) or ``.xlsx`` (the active visible
    sheet, or ``sheet``) file into ``table``. ``errors`` receives every failing cell as CSV; ``dry_run`` checks
    everything and writes nothing. ``progress`` receives one line per step, ``ticker`` the reading progress."""
    path = Path(path)
    try:
        contract = contract_for(table)
        source = open_source(path, encoding=encoding, sheet=sheet, columns=contract.columns)
        return _load(engine, contract, source, policy, source_name=str(path), header_row=1,
                     progress=progress or _quiet, errors=errors, dry_run=dry_run, ticker=ticker or _quiet)
    except LoadError as rejected:
        if errors is not None and not rejected.errors_written:  # the header, the file itself, the warehouse
            write_rejection(errors, str(path), rejected)
        raise


def load_frame(engine: sa.Engine, table: str, df: pd.DataFrame, policy: Policy, source: str = "frame",
               row_offset: int = 2) -> LoadResult:
    """Load a frame of text cells (as read from a file); row ``i`` (0-based) is reported as ``i + row_offset``."""
    contract = contract_for(table)
    cells = df.astype(object).where(df.notna(), None).to_numpy().tolist()
    src = frame_source(source, list(df.columns), list(enumerate(cells, start=row_offset)))
    return _load(engine, contract, src, policy, source_name=source, header_row=row_offset - 1)


def contract_for(table: str) -> TableContract:
    if table not in TABLES:
        raise LoadError(f"未知的表 {table!r}；可导入的表：{', '.join(sorted(TABLES))}")
    return TABLES[table]


# ---------------------------------------------------------------- steps
def _header(contract: TableContract, source: Source, name: str, header_row: int) -> tuple[dict[str, int], list[str]]:
    """Contract column → its position in the header; notes on what else the header holds."""
    match = match_header(contract.columns, source.header)
    problems = []
    for column, closest in match.missing.items():
        hint = f"；文件中有相近的列 {closest!r}，是否拼错了？" if closest else ""
        problems.append(Finding(header_row, column, "", "缺少必需的列",
                                f"缺少必需的列 {label(column)}{hint}"))
    for column, times in match.repeated.items():
        problems.append(Finding(header_row, column, "", "列重复", f"表头中 {label(column)} 出现了 {times} 次"))
    if problems:
        source.close()
        raise LoadError([f"{name}: 第 {header_row} 行（表头），列 {f.column}：{f.reason}" for f in problems],
                        sorted(problems), len(problems))
    notes = list(source.notes)
    if match.unknown:
        notes.append(f"忽略了不属于 {contract.name} 的列：{'、'.join(match.unknown)}")
    return match.positions, notes


def _begin(conn: sa.Connection, table: str) -> None:
    """PostgreSQL: take the table's advisory lock for the whole transaction, so two loads of a table are serialised.
    SQLite: a bigger page cache for the load; the lock comes later, see :func:`_serialise`."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"migu_assets.loader:{table}"})
    elif conn.dialect.name == "sqlite":
        # a 128 MiB page cache while the indexes of a large table take the new rows (the default is 2 MiB)
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        conn.exec_driver_sql(f"PRAGMA temp.cache_size=-{SQLITE_CACHE_KIB // 4}")
        # SQLite's sorter (CREATE INDEX after a bulk insert, the duplicate-key GROUP BY) may use the other cores
        conn.exec_driver_sql(f"PRAGMA threads={min(usable_cores(), 4) - 1}")


def _discard_sqlite_stage(conn: sa.Connection, table: str) -> None:
    """The TEMP staging table outlives a transaction on this pooled connection. ``DROP TABLE`` frees its pages one
    by one (1.3–3.5 s for 3 M tickets); closing the connection deletes SQLite's temporary file at once. So the
    connection to a database file is closed (the pool opens a new one, with the engine's pragmas) — but an
    in-memory database lives in its connection, so there the table is dropped and the pragmas put back."""
    url = conn.engine.url
    if url.database and url.database != ":memory:" and "memory" not in str(url.query.get("mode", "")):
        conn.invalidate()
        return
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.stage_{table}")
    conn.commit()
    conn.exec_driver_sql("PRAGMA cache_size=-2000")
    conn.exec_driver_sql("PRAGMA temp.cache_size=-2000")
    conn.exec_driver_sql("PRAGMA threads=0")


def _serialise(conn: sa.Connection) -> None:
    """SQLite: the file sits in the connection's TEMP staging table (which needs no lock on the warehouse); now take
    the warehouse's write lock at once, before the first check reads it, so check and insert see the same data and
    no other writer can come between (a deferred transaction would let two loads check the same snapshot and both
    insert — the 独家授权 race). Other writers (asset runs) wait only for the checks and the insert, not the read."""
    if conn.dialect.name == "sqlite":
        conn.commit()
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _load(engine: sa.Engine, contract: TableContract, source: Source, policy: Policy, *, source_name: str,
          header_row: int, progress: Progress = _quiet, errors: Path | None = None, dry_run: bool = False,
          ticker: Ticker = _quiet) -> LoadResult:
    positions, notes = _header(contract, source, source_name, header_row)
    kinds = {positions[c]: contract.types[c].kind for c in contract.columns}
    order = {c: i for i, c in enumerate(contract.columns)}
    findings = Findings(source_name, errors)
    try:
        with engine.connect() as conn:
            try:
                _begin(conn, contract.name)
                stage = Stage(conn, contract)

                def stream(batches) -> tuple[int, int]:
                    rows = normalised = 0
                    for raw in batches:
                        batch = columnar.Batch(contract, raw.numbers,
                                               {c: raw.columns[positions[c]] for c in contract.columns}, policy)
                        for finding in batch.findings:
                            findings.add(finding)
                        stage.write(batch.table)
                        rows += len(raw.numbers)
                        normalised += batch.normalised
                        ticker(source.position(), source.size)
                    return rows, normalised

                try:
                    rows, normalised = stream(source.batches(kinds))
                except Irregular:  # rows of another width than the header: the csv module pads or cuts them
                    stage.clear()
                    findings.reset()
                    rows, normalised = stream(source.exact_batches(kinds))
                _serialise(conn)
                stage.analyze()
                progress(f"已读取并逐列检查 {rows:,} 行：{findings.count:,} 处问题")
                _warehouse_checks(conn, stage, contract, policy, findings)
                unchanged, conflicts = stage.existing()
                for row, column, mine, theirs, key_text in conflicts:
                    findings.add(Finding(row, column, show(mine), "与仓库中已有的行冲突（同一主键、取值不同）",
                                         f"与仓库中键为 {key_text} 的已有行冲突：文件为 {show(mine)}，仓库中为 "
                                         f"{show(theirs)}（已有的行不会被覆盖）"))
                if findings:
                    conn.rollback()
                    raise findings.error(order)
                inserted = stage.count_new() if dry_run else stage.insert()
                if conn.dialect.name != "sqlite":  # see _discard_sqlite_stage
                    stage.drop()
                if dry_run:
                    conn.rollback()
                else:
                    conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                if conn.dialect.name == "sqlite":
                    _discard_sqlite_stage(conn, contract.name)
    except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
        findings.close()
        raise LoadError(f"{source_name}: 仓库拒绝了这些行，没有写入任何数据：{exc.orig}") from exc
    finally:
        findings.close()
        source.close()
    if normalised:
        notes.append(f"{normalised:,} 个编号含全角或不可见字符（如 BOM、零宽空格），已按 NFKC 规范化后比对和保存")
    return LoadResult(contract.name, inserted, unchanged, tuple(notes), dry_run)


def _warehouse_checks(conn: sa.Connection, stage: Stage, contract: TableContract, policy: Policy,
                      findings: Findings) -> None:
    key = contract.primary_key
    label_key = key[0] if len(key) == 1 else f"({', '.join(key)})"
    for row, key_text, first_row in stage.duplicates():
        findings.add(Finding(row, label_key, key_text, "主键在文件中重复",
                             f"主键 {key_text} 重复：第 {first_row} 行已有相同的键"))
    for rule in contract.db_rules:
        for row, value, reason in rule.check(conn, stage, policy):
            findings.add(Finding(row, rule.column, show(value), rule.title, reason))
