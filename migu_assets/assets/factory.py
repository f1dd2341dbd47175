"""One declarative :class:`TableSpec` per monthly output table, and the factory that makes its asset and checks.

A spec says everything the Dagster wiring needs and nothing about the rule itself: the table, the compute function
(one signature for every table: ``compute(conn, book, month) -> rows``, the rows of one month computed with the
policy versions of :class:`~migu_assets.policy.PolicyBook`), the upstream dependencies with their partition
mappings, the chapter (asset group), the article, the preview order and the **invariants**: named SQL conditions
that pick out broken rows, built from the policy version in force in each month. A new output table is one rules
function, one compute function and one spec.

Every asset the factory makes:

- is partitioned by month with a single-run backfill policy, and writes each month of its window in month order,
  each month replaced atomically (``write_months``), stamping every row with the ``policy_version`` it was computed
  under and the Dagster ``run_id`` (provenance);
- carries a ``code_version`` derived from its compute module, the rules package and the policy files it reads, so
  after a rule or policy change Dagster shows the materialisations made under older rules as stale;
- reports row count, column schema, a markdown preview and counts per month in its metadata;
- gets one asset check evaluating the spec's invariants month by month with that month's policy.
"""


import datetime as dt
import hashlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from migu_assets import rules as rules_package
from migu_assets.assets._common import (
    OWNERS,
    VIOLATION_SENSITIVE,
    materialization_metadata,
    write_months,
)
from migu_assets.partitions import monthly_partitions
from migu_assets.policy import Policy, PolicyBook, policy_dir
from migu_assets.resources import PolicyResource, WarehouseResource

Compute = Callable[[sa.Connection, PolicyBook, dt.date], list[dict]]
Broken = Callable[[sa.Table, Policy], sa.ColumnElement[bool]]
# Retry a step that lost the database for a moment (a restarted server, a dropped connection); exponential backoff.
DATABASE_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


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
    check_description: str = ""
    extra_metadata: Callable[[list[dict]], Mapping[str, object]] | None = None
    violation_sensitive: bool = True
    code_modules: Sequence[object] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.table.name


def previous_months(n: int) -> dg.TimeWindowPartitionMapping:
    """Months m−n..m; months before the first partition do not exist (the rules then see fewer months)."""
    return dg.TimeWindowPartitionMapping(start_offset=-n, end_offset=0, allow_nonexistent_upstream_partitions=True)


def same_month(key: str) -> dg.AssetDep:
    return dg.AssetDep(key, partition_mapping=dg.IdentityPartitionMapping())


# ---------------------------------------------------------------- code versions
def _source(obj: object) -> bytes:
    return inspect.getsource(obj).encode()


def _rules_source() -> bytes:
    folder = Path(rules_package.__file__).parent
    return b"".join(p.read_bytes() for p in sorted(folder.glob("*.py")))


def policy_fingerprint(directory: str | Path | None = None) -> bytes:
    """The bytes of every policy file a run would read (``MIGU_POLICY_DIR`` or the shipped folder)."""
    return b"".join(p.name.encode() + p.read_bytes() for p in sorted(policy_dir(directory).glob("*.yaml")))


def code_version(*parts: object, policy_directory: str | Path | None = None) -> str:
    """A short hash of the given modules/functions' source, the rules package and the policy files in use."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(_source(part))
    digest.update(_rules_source())
    digest.update(policy_fingerprint(policy_directory))
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------- the factory
def monthly_table_asset(spec: TableSpec) -> dg.AssetsDefinition:
    """The monthly asset of ``spec`` (see the module doc)."""
    compute_module = inspect.getmodule(spec.compute)

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
        description=inspect.cleandoc(spec.description),
        code_version=code_version(compute_module, *spec.code_modules),
        retry_policy=DATABASE_RETRY,
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource
    ) -> dg.MaterializeResult:
        rows, per_month = write_months(context, warehouse, policy, spec.table, spec.compute)
        preview = sorted(rows, key=spec.preview) if spec.preview else rows
        return dg.MaterializeResult(
            metadata=materialization_metadata(
                spec.table,
                preview,
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
        description=spec.check_description or f"Every row satisfies: {names} (each month under its own policy).",
        blocking=False,
    )
    def _check(warehouse: WarehouseResource, policy: PolicyResource) -> dg.AssetCheckResult:
        with warehouse.engine.connect() as conn:
            counts = broken_counts(conn, spec, policy.book())
        return dg.AssetCheckResult(
            passed=not any(counts.values()), severity=dg.AssetCheckSeverity.ERROR, metadata=counts
        )

    return _check


def build(spec: TableSpec) -> tuple[dg.AssetsDefinition, list[dg.AssetChecksDefinition]]:
    """The asset of ``spec`` and its invariant check (none when the spec declares no invariant)."""
    asset = monthly_table_asset(spec)
    return asset, ([invariant_check(spec, asset)] if spec.invariants else [])
