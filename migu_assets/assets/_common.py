"""Shared wiring for the assets: partition windows, metadata (row counts, schema, markdown preview)."""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import dagster as dg
import sqlalchemy as sa

from migu_assets.rules.periods import months_between

OWNERS = ["team:partner-credit"]
PREVIEW_ROWS = 10

# Group names: one per policy chapter, so the lineage graph reads like the policy.
SOURCES = "sources"
COMPLAINTS = "complaints_and_warnings"  # 第五章 运营考核 第七、八条
CREDIT = "credit"  # 第六章 信用积分管理
CONTROL = "control_actions"  # 第八条 附件1–4
SETTLEMENT = "settlement"  # 第七章 结算管理
RENEWAL = "renewal_and_exit"  # 第八章 续约及退出
REPORTING = "reporting"

# Assets carrying this tag are recomputed by the major-violation sensor (SPEC §9).
VIOLATION_SENSITIVE = {"migu/recompute_on_violation": "true"}

# Warehouse-bound steps retry a failure twice (after ~3 s, then ~6 s): a dropped connection, a failover or a
# lock timeout usually clears by then. Every partition write is atomic (delete + insert in one transaction), so a
# retried step starts from the previous rows. A deterministic error fails the same way three times and the run
# fails; whole-run retries (run_retries in deploy/dagster.yaml) cover a run whose process died.
WAREHOUSE_RETRY = dg.RetryPolicy(
    max_retries=2, delay=3, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def window_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """``[start, end)`` of the run's partition window as calendar dates (Asia/Shanghai)."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def window_months(context: dg.AssetExecutionContext) -> list[dt.date]:
    """First days of every month in the run's partition window, in order (a backfill may cover several)."""
    start, end = window_dates(context)
    return months_between(start, end - dt.timedelta(days=1))


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "…"


def markdown_table(
    rows: Sequence[Mapping],
    columns: Sequence[str],
    limit: int = PREVIEW_ROWS,
    order: Callable | None = None,
    total: int | None = None,
) -> str:
    """The first ``limit`` rows (by ``order``: picked with a heap, not by sorting a year's million rows).
    ``total``: how many rows there are when ``rows`` is only the preview (read from the database)."""
    if not rows:
        return "_no rows_"
    shown = heapq.nsmallest(limit, rows, key=order) if order else rows[:limit]
    total = len(rows) if total is None else total
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "\n".join("| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in shown)
    more = f"\n\n_{total - len(shown)} more rows_" if total > len(shown) else ""
    return head + body + more


def column_schema(table: sa.Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=type(c.type).__name__ if not hasattr(c.type, "scale") else f"NUMERIC(scale={c.type.scale})",
                constraints=dg.TableColumnConstraints(nullable=c.nullable, unique=False),
            )
            for c in table.columns
        ]
    )


def counts_markdown(title: str, counter: Mapping[object, int]) -> str:
    if not counter:
        return f"**{title}**: none"
    lines = "\n".join(f"| {k} | {v} |" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0])))
    return f"**{title}**\n\n| value | rows |\n|---|---|\n{lines}"


def materialization_metadata(
    table: sa.Table,
    rows: Sequence[Mapping],
    *,
    per_month: Mapping[dt.date, int] | None = None,
    count_by: Iterable[str] = (),
    extra: Mapping[str, object] | None = None,
    order: Callable | None = None,
    row_count: int | None = None,
) -> dict[str, object]:
    """Row count, column schema, a markdown preview (its first rows by ``order``) and counts by the named columns.
    ``row_count``: the rows written when ``rows`` is only the preview (an asset that writes inside the database)."""
    columns = [c.name for c in table.columns if c.name not in ("reason",)] + (["reason"] if "reason" in table.c else [])
    md = [markdown_table(rows, columns, order=order, total=row_count)]
    for col in count_by:
        md.append(counts_markdown(f"rows by {col}", Counter(r[col] for r in rows)))
    meta: dict[str, object] = {
        "dagster/row_count": len(rows) if row_count is None else row_count,
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": table.name,
        "preview": dg.MetadataValue.md("\n\n".join(md)),
    }
    if per_month:
        meta["rows_per_month"] = dg.MetadataValue.json({str(k): v for k, v in sorted(per_month.items())})
    if extra:
        meta.update(extra)
    return meta


def count_rows(warehouse, query: sa.Select) -> int:
    """The single count an asset check's SQL returns (``SELECT count(*) … WHERE <broken invariant>``)."""
    with warehouse.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
