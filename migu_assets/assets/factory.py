"""One declarative :class:`TableSpec` per monthly output table, and the factory making its asset and check.

A spec holds what the wiring needs, nothing of the rule: the table, ``compute(conn, book, month) -> rows`` (one
signature for every table), upstream deps with their partition mappings, the chapter (group), the article, the
preview order and the **invariants** — named SQL conditions selecting broken rows, built from the policy version
in force in each month. A new output table is one rules function, one compute function and one spec. Each asset
writes its months in order, each replaced atomically and stamped with ``policy_version`` and ``run_id``; its
``code_version`` hashes its compute module(s), the rules package and the policy files in use. A spec may also give
``compute_range(conn, book, months) -> {month: rows}``, used instead of ``compute`` to compute a whole window at once.
"""


import datetime as dt
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa

from migu_assets.assets._common import (
    OWNERS,
    VIOLATION_SENSITIVE,
    WAREHOUSE_RETRY,
    materialization_metadata,
    window_months,
)
from migu_assets.partitions import BACKFILL_HINT, monthly_partitions
from migu_assets.policy import Policy, PolicyBook
from migu_assets.provenance import code_version, with_provenance
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.rules.periods import next_month

Compute = Callable[[sa.Connection, PolicyBook, dt.date], list[dict]]
ComputeRange = Callable[[sa.Connection, PolicyBook, list[dt.date]], dict[dt.date, list[dict]]]
Broken = Callable[[sa.Table, Policy], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class Invariant:
    """A property every row must have; ``broken(table, policy)`` selects the rows that lack it."""

    name: str
    broken: Broken


@dataclass(frozen=True)
class TableSpec:
    table: sa.Table
    compute: Compute
    group: str
    article: str
    description: str
    deps: Sequence[dg.AssetDep | str] = ()
    preview: Callable[[Mapping], object] | None = None
    count_by: Sequence[str] = ()
    invariants: Sequence[Invariant] = ()
    check_name: str | None = None
    extra_metadata: Callable[[list[dict]], Mapping[str, object]] | None = None
    violation_sensitive: bool = True
    compute_range: ComputeRange | None = None
    """Rows of every month of a window in one call, keyed by month; each month's rows must equal ``compute``'s for
    that month alone. For a table whose months share expensive work — settlements rebuild the whole ledger from
    each partner's first month for any month asked — a backfill then does that work once instead of once per
    month. Only for a table none of whose months reads its own earlier months (those are written during the run,
    after the whole window was computed)."""

    @property
    def name(self) -> str:
        return self.table.name


# ---------------------------------------------------------------- the factory
def _computed_months(
    warehouse, book: PolicyBook, months: list[dt.date], compute_month: Compute, compute_range: ComputeRange | None
) -> Iterator[tuple[dt.date, list[dict]]]:
    """(month, rows) for each month in order. Per month it is lazy: month m is computed after m−1 was written.
    With ``compute_range`` the whole window is read at once on one connection; a month missing from its answer
    is an error (writing no rows would silently empty that month)."""
    if compute_range is None:
        for month in months:
            with warehouse.engine.connect() as conn:
                rows = compute_month(conn, book, month)
            yield month, rows
        return
    with warehouse.engine.connect() as conn:
        by_month = compute_range(conn, book, months)
    for month in months:
        yield month, by_month[month]


def write_months(
    context: dg.AssetExecutionContext,
    warehouse,
    policy,
    table: sa.Table,
    compute_month: Compute,
    compute_range: ComputeRange | None = None,
):
    """Compute and atomically replace each month of the window, in order (a month reads earlier months' upstream
    rows, never later ones, so a backfill equals month-by-month). With ``compute_range`` (see
    :attr:`TableSpec.compute_range`) the window is computed in one call, then written month by month just the same.
    Returns (all rows, rows written per month)."""
    book = policy.book()
    all_rows: list[dict] = []
    per_month: dict[dt.date, int] = {}
    for month, rows in _computed_months(warehouse, book, window_months(context), compute_month, compute_range):
        rows = with_provenance(rows, book.for_month(month).version, context.run_id)
        per_month[month] = warehouse.replace_partition(table, "month", month, next_month(month), rows)
        context.log.info(f"{table.name} {month:%Y-%m}: {per_month[month]} rows")
        all_rows.extend(rows)
    return all_rows, per_month


def monthly_table_asset(spec: TableSpec) -> dg.AssetsDefinition:
    """The monthly asset of ``spec`` (see the module doc)."""
    # compute and compute_range usually share a module: hash each module once (the settlements' version unchanged)
    compute_modules = dict.fromkeys(inspect.getmodule(f) for f in (spec.compute, spec.compute_range) if f)

    @dg.asset(
        name=spec.name,
        partitions_def=monthly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=list(spec.deps),
        group_name=spec.group,
        owners=OWNERS,
        kinds={"sql", "python"},
        tags=VIOLATION_SENSITIVE if spec.violation_sensitive else None,
        metadata={"partition_expr": "month", "policy_article": spec.article},
        description=inspect.cleandoc(spec.description) + "\n\n" + BACKFILL_HINT,
        code_version=code_version(*compute_modules),
        retry_policy=WAREHOUSE_RETRY,
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
    ) -> dg.MaterializeResult:
        rows, per_month = write_months(context, warehouse, policy, spec.table, spec.compute, spec.compute_range)
        return dg.MaterializeResult(
            metadata=materialization_metadata(
                spec.table,
                rows,
                order=spec.preview,
                per_month=per_month,
                count_by=spec.count_by,
                extra=spec.extra_metadata(rows) if spec.extra_metadata else None,
            )
        )

    return _asset


def broken_counts(conn: sa.Connection, spec: TableSpec, book: PolicyBook) -> dict[str, int]:
    """Rows breaking each invariant, each month judged with the policy version in force in it."""
    t = spec.table
    counts = dict.fromkeys((i.name for i in spec.invariants), 0)
    versions = book.versions
    for k, version in enumerate(versions):
        in_force = t.c.month >= version.effective_from
        if k + 1 < len(versions):
            in_force = sa.and_(in_force, t.c.month < versions[k + 1].effective_from)
        for inv in spec.invariants:
            q = sa.select(sa.func.count()).select_from(t).where(in_force, inv.broken(t, version))
            counts[inv.name] += int(conn.execute(q).scalar_one())
    return counts


def invariant_check(spec: TableSpec, asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """One ERROR check per table: every named invariant holds on every row, under its month's policy."""
    names = ", ".join(i.name for i in spec.invariants)

    @dg.asset_check(
        asset=asset,
        name=spec.check_name or f"{spec.name}_invariants",
        description=f"No row breaks: {names} (each month judged under its own policy version).",
        blocking=False,
    )
    def _check(warehouse: WarehouseResource, policy: PolicyResource) -> dg.AssetCheckResult:
        with warehouse.engine.connect() as conn:
            counts = broken_counts(conn, spec, policy.book())
        return dg.AssetCheckResult(
            passed=not any(counts.values()), severity=dg.AssetCheckSeverity.ERROR, metadata=counts
        )

    return _check


SPECS: list[TableSpec] = []  # every spec built, in chain order (tests and the README's map read it)


def build(spec: TableSpec) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition | None]:
    """The asset of ``spec`` and its invariant check (None when the spec declares no invariant)."""
    SPECS.append(spec)
    asset = monthly_table_asset(spec)
    return asset, (invariant_check(spec, asset) if spec.invariants else None)
