"""Running the real Dagster definitions against a test warehouse."""

from __future__ import annotations

import dagster as dg

from migu_assets.definitions import build_definitions
from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from migu_assets.resources import PolicyResource, WarehouseResource


def resources_for(db_url: str, policy_dir: str = "") -> dict:
    return {"warehouse": WarehouseResource(url=db_url), "policy": PolicyResource(directory=policy_dir)}


_DEFS: dict[str, dg.Definitions] = {}


def defs_for(db_url: str) -> dg.Definitions:
    """The project's definitions with the warehouse pointed at ``db_url`` (so asset selections work too)."""
    if db_url not in _DEFS:
        _DEFS[db_url] = build_definitions(resources_for(db_url))
    return _DEFS[db_url]


def materialize_range(
    db_url: str,
    job_name: str,
    first: str,
    last: str | None = None,
    instance: dg.DagsterInstance | None = None,
    asset_selection: list[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute ``daily_job`` or ``monthly_job`` over the partition keys ``first..last`` in one run."""
    job = defs_for(db_url).resolve_job_def(job_name)
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last or first}
    with _nullcontext(instance or _ephemeral()) as inst:
        return job.execute_in_process(
            instance=inst,
            tags=tags,
            asset_selection=asset_selection,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )


_EPHEMERAL: list[dg.DagsterInstance] = []


def _ephemeral() -> dg.DagsterInstance:
    """One in-memory instance for the test session (creating a SQLite instance per run costs seconds)."""
    if not _EPHEMERAL:
        _EPHEMERAL.append(dg.DagsterInstance.ephemeral())
    return _EPHEMERAL[0]


class _nullcontext:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


def run_month(db_url: str, month: str, instance: dg.DagsterInstance | None = None) -> None:
    """Daily counts for every day of ``month`` (YYYY-MM) and then the whole monthly chain."""
    import calendar

    y, m = map(int, month.split("-"))
    last_day = calendar.monthrange(y, m)[1]
    assert materialize_range(db_url, "daily_job", f"{month}-01", f"{month}-{last_day:02d}", instance).success
    assert materialize_range(db_url, "monthly_job", f"{month}-01", None, instance).success
