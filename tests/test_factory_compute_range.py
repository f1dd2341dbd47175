"""``TableSpec.compute_range``: a multi-month run computes its window in one call and writes the same rows, month by
month, as computing each month alone (on SQLite and PostgreSQL), through a real Dagster run of a factory asset."""

import dataclasses
import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_helpers import resources_for
from factories import table_rows

from migu_assets.assets.factory import TableSpec, monthly_table_asset
from migu_assets.assets.settlement import SETTLEMENTS
from migu_assets.compute import settlement as settlement_compute
from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from migu_assets.warehouse.engine import engine_for

D = dt.date
WINDOW = [D(2024, m, 1) for m in range(1, 5)]

probe = sa.Table(  # a throwaway output table, in its own metadata (not part of the warehouse schema)
    "range_probe",
    sa.MetaData(),
    sa.Column("month", sa.Date, primary_key=True),
    sa.Column("k", sa.Integer, primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
    sa.Column("policy_version", sa.String(32)),
    sa.Column("run_id", sa.String(64)),
)


def _month_rows(month: dt.date) -> list[dict]:
    # a different number of rows and different values per month, so a month written from another's rows shows
    return [{"month": month, "k": k, "value": month.month * 100 + k} for k in range(month.month % 3 + 1)]


@pytest.fixture
def probe_url(db_url):
    engine = engine_for(db_url)
    probe.create(engine, checkfirst=True)
    yield db_url
    probe.drop(engine, checkfirst=True)  # the PostgreSQL database is shared by the session


def _run(db_url: str, spec: TableSpec) -> None:
    tags = {RANGE_START_TAG: str(WINDOW[0]), RANGE_END_TAG: str(WINDOW[-1])}
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([monthly_table_asset(spec)], instance=instance, resources=resources_for(db_url),
                                tags=tags)
    assert result.success


def test_compute_range_is_called_once_per_run_and_writes_what_month_by_month_writes(probe_url, policy_book):
    month_calls: list[dt.date] = []
    range_calls: list[list[dt.date]] = []

    def compute(conn, book, month):
        month_calls.append(month)
        return _month_rows(month)

    def compute_range(conn, book, months):
        range_calls.append(list(months))
        flat = [r for m in months for r in _month_rows(m)]  # computed together, then keyed by month
        return {m: [r for r in flat if r["month"] == m] for m in months}

    per_month = TableSpec(table=probe, compute=compute, group="test", article="-", description="probe",
                          violation_sensitive=False)
    _run(probe_url, per_month)
    assert month_calls == WINDOW and not range_calls
    expected = table_rows(engine_for(probe_url), probe, ["month", "k"])
    assert [r["month"] for r in expected] == [m for m in WINDOW for _ in _month_rows(m)]
    assert all(r["policy_version"] == policy_book.for_month(r["month"]).version for r in expected)

    with engine_for(probe_url).begin() as conn:
        conn.execute(probe.delete())
    month_calls.clear()
    _run(probe_url, dataclasses.replace(per_month, compute_range=compute_range))
    assert range_calls == [WINDOW] and not month_calls  # one call for the whole window, compute not used
    assert table_rows(engine_for(probe_url), probe, ["month", "k"]) == expected


def test_settlements_compute_their_window_in_one_call():
    """The settlement backfill tests (test_settlement_assets, test_settlement_ledger_assets: a backfill equals
    months computed alone) thereby run through ``settlement_rows`` over the whole window."""
    assert SETTLEMENTS.compute_range is settlement_compute.settlement_rows
