"""A transient warehouse error is retried by the step's RetryPolicy and the run succeeds (issue 15)."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa
from dagster_helpers import materialize_range

from migu_assets.assets._common import WAREHOUSE_RETRY
from migu_assets.demo import generate_demo
from migu_assets.warehouse import schema, writer
from migu_assets.warehouse.engine import engine_for


def test_every_warehouse_asset_retries():
    from migu_assets.definitions import computed_assets

    policies = {key.to_user_string(): a.op.retry_policy for a in computed_assets for key in a.keys}
    assert {"daily_complaint_counts", "credit_grades", "settlements", "partner_status"} <= set(policies)
    assert all(p == WAREHOUSE_RETRY for p in policies.values()), policies


def test_a_dropped_connection_is_retried_and_the_run_succeeds(sqlite_url, monkeypatch):
    engine = engine_for(sqlite_url)
    generate_demo(engine, partners=20, months=1, progress=lambda _l: None)
    assert materialize_range(sqlite_url, "daily_job", "2024-01-01", "2024-01-31").success
    real, failures = writer.insert_rows, []

    def flaky(conn, table, rows):
        if table is schema.credit_grades and not failures:
            failures.append(table.name)
            raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real(conn, table, rows)

    monkeypatch.setattr(writer, "insert_rows", flaky)
    result = materialize_range(sqlite_url, "monthly_job", "2024-01-01")
    assert failures == ["credit_grades"]
    assert result.success
    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in retried] == ["credit_grades"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.credit_grades)).scalar_one() == 20
