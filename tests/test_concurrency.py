"""SPEC §9 under concurrency: two runs writing the same partition at once leave exactly one consistent set of rows.

Writer level: two threads replace the same month with different row sets, many times, while a third thread reads;
and a ranged write overlaps a single-day write of the same table (a daily backfill meeting the daily schedule).
Dagster level: a sensor-style recompute of months overlapping a ranged monthly backfill, in two threads, ends with
the rows a clean sequential computation gives.
"""

from __future__ import annotations

import datetime as dt
import threading

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_helpers import materialize_range
from factories import insert, table_rows

from migu_assets.demo import generate_demo
from migu_assets.warehouse import schema, writer

D = dt.date
DAILY = schema.daily_complaint_counts
MONTHLY = schema.health_scores
ITERATIONS = 25


def _run_together(*fns, timeout: float = 120) -> None:
    """Start every function at the same moment in its own thread; re-raise the first exception."""
    barrier = threading.Barrier(len(fns))
    errors: list[BaseException] = []

    def wrap(fn):
        def target():
            try:
                barrier.wait()
                fn()
            except BaseException as exc:  # noqa: BLE001 - surfaced below
                errors.append(exc)

        return target

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a writer thread hung (deadlock?)"
    if errors:
        raise errors[0]


def _health_rows(month: dt.date, partners: range, score: int) -> list[dict]:
    return [
        {
            "partner_id": f"P{i:04d}",
            "month": month,
            "monthly_notifications": 0,
            "timely_rate": 1,
            "health": score,
            "clause": "附件5",
            "reason": f"并发测试 {score}",
        }
        for i in partners
    ]


def _day_rows(day: dt.date, partners: range, complaints: int) -> list[dict]:
    return [
        {"partner_id": f"P{i:04d}", "day": day, "complaints": complaints, "notifications": complaints // 5}
        for i in partners
    ]


def _month_set(engine: sa.Engine, month: dt.date) -> set[tuple]:
    h = MONTHLY
    with engine.connect() as conn:
        rows = conn.execute(sa.select(h.c.partner_id, h.c.health).where(h.c.month == month)).all()
    assert len(rows) == len(set(rows))
    return set(rows)


def test_two_writers_of_one_month_leave_exactly_one_row_set(engine):
    """Every round two threads replace March with different row sets; a reader never sees a mix or a gap."""
    month, nxt = D(2024, 3, 1), D(2024, 4, 1)
    a = _health_rows(month, range(0, 40), 30)
    b = _health_rows(month, range(25, 90), 20)
    expected_a = {(r["partner_id"], r["health"]) for r in a}
    expected_b = {(r["partner_id"], r["health"]) for r in b}
    # Neighbouring months must never be touched.
    writer.replace_partition(engine, MONTHLY, "month", D(2024, 2, 1), month, _health_rows(D(2024, 2, 1), range(5), 1))
    writer.replace_partition(engine, MONTHLY, "month", nxt, D(2024, 5, 1), _health_rows(nxt, range(5), 2))
    writer.replace_partition(engine, MONTHLY, "month", month, nxt, a)

    seen: list[int] = []
    seen_errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            got = _month_set(engine, month)
            assert got in (expected_a, expected_b), f"reader saw a mixed or partial month ({len(got)} rows)"
            seen.append(len(got))

    reader_thread = threading.Thread(target=lambda: _catch(reader, seen_errors), daemon=True)
    reader_thread.start()
    try:
        for _ in range(ITERATIONS):
            _run_together(
                lambda: writer.replace_partition(engine, MONTHLY, "month", month, nxt, a),
                lambda: writer.replace_partition(engine, MONTHLY, "month", month, nxt, b),
            )
            assert _month_set(engine, month) in (expected_a, expected_b)
    finally:
        stop.set()
        reader_thread.join(30)
    assert not seen_errors, seen_errors[0]
    assert seen, "the reader never ran"
    with engine.connect() as conn:
        others = conn.execute(
            sa.select(MONTHLY.c.month, sa.func.count()).where(MONTHLY.c.month != month).group_by(MONTHLY.c.month)
        ).all()
    assert sorted(others) == [(D(2024, 2, 1), 5), (nxt, 5)]


def _catch(fn, errors: list[BaseException]) -> None:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - surfaced by the test
        errors.append(exc)


def test_ranged_write_overlapping_a_single_day_write_is_serialised(engine):
    """A daily backfill over January meets the daily schedule's 5 January: no error, and the result is one of the
    two sequential orders (never a duplicate-key failure, never rows of both for the same day)."""
    jan, feb, day, nxt = D(2024, 1, 1), D(2024, 2, 1), D(2024, 1, 5), D(2024, 1, 6)
    month_rows = [r for i in range(31) for r in _day_rows(jan + dt.timedelta(days=i), range(0, 30), 7)]
    day_rows = _day_rows(day, range(10, 50), 12)

    def state():
        return {(r["partner_id"], r["day"], r["complaints"]) for r in table_rows(engine, DAILY)}

    writer.replace_partition(engine, DAILY, "day", jan, feb, month_rows)
    month_last = state()  # ranged write committed last
    writer.replace_partition(engine, DAILY, "day", day, nxt, day_rows)
    day_last = state()  # single-day write committed last
    assert month_last != day_last
    for _ in range(ITERATIONS):
        _run_together(
            lambda: writer.replace_partition(engine, DAILY, "day", jan, feb, month_rows),
            lambda: writer.replace_partition(engine, DAILY, "day", day, nxt, day_rows),
        )
        assert state() in (month_last, day_last)


# --------------------------------------------------------------------------------------------- Dagster level
OUTPUTS = [
    schema.warning_tiers,
    schema.health_scores,
    schema.importance_scores,
    schema.monthly_credit_scores,
    schema.credit_scores,
    schema.credit_grades,
    schema.control_actions,
    schema.settlements,
    schema.renewal_decisions,
]


def _snapshot(engine: sa.Engine) -> dict[str, list[dict]]:
    return {t.name: table_rows(engine, t) for t in OUTPUTS}


def _sensor_keys():
    """The assets the major-violation sensor asks for (the same selection as its run requests)."""
    from migu_assets.assets._common import VIOLATION_SENSITIVE
    from migu_assets.definitions import computed_assets
    from migu_assets.partitions import monthly_partitions

    ((tag_key, tag_value),) = VIOLATION_SENSITIVE.items()
    return [
        key
        for a in computed_assets
        if a.partitions_def == monthly_partitions
        for key in a.keys
        if a.tags_by_key.get(key, {}).get(tag_key) == tag_value
    ]


def _in_thread_run(db_url: str, first: str, last: str, job: str = "monthly_job", asset_selection=None) -> bool:
    """One run on its own in-memory instance, disposed in the thread that made it.

    (An instance left to the garbage collector closes its SQLite connections from another thread; the error logged
    then can hit CPython 3.11.7's AST recursion-depth bug, gh-106905, in pytest's assertion rewriting.)
    """
    with dg.DagsterInstance.ephemeral() as instance:
        return materialize_range(db_url, job, first, last, instance, asset_selection=asset_selection).success


@pytest.mark.slow
def test_sensor_recompute_overlapping_a_backfill_equals_sequential(db_url, engine):
    """A violation recorded after the demo months were computed: the sensor's recompute of February and March
    and an operator's backfill of January–March run at the same time. The rows equal a sequential computation."""
    generate_demo(engine, partners=20, months=3, start=D(2024, 1, 1), progress=lambda _line: None)
    assert materialize_range(db_url, "daily_job", "2024-01-01", "2024-03-31").success
    assert materialize_range(db_url, "monthly_job", "2024-01-01", "2024-03-01").success
    insert(
        engine,
        schema.major_violations,
        [
            {
                "violation_id": "VC001",
                "partner_id": "P0004",
                "violation_type": 1,
                "occurred_on": D(2024, 2, 20),
                "recorded_at": dt.datetime(2024, 4, 3, 10, 0),
                "description": "并发测试：重大违规",
                "bad_credit_list": False,
            }
        ],
    )
    keys = _sensor_keys()
    assert dg.AssetKey("credit_grades") in keys and dg.AssetKey("settlements") in keys

    results: dict[str, bool] = {}

    def sensor_runs():
        for month in ("2024-02-01", "2024-03-01"):
            results[f"sensor {month}"] = _in_thread_run(db_url, month, month, asset_selection=keys)

    def backfill():
        results["backfill"] = _in_thread_run(db_url, "2024-01-01", "2024-03-01")

    _run_together(sensor_runs, backfill, timeout=300)
    assert all(results.values()), results
    concurrent = _snapshot(engine)

    # Clean sequential computation of the same months, one by one.
    for month in ("2024-01-01", "2024-02-01", "2024-03-01"):
        assert materialize_range(db_url, "monthly_job", month).success
    sequential = _snapshot(engine)
    assert concurrent == sequential
    grades = {(g["partner_id"], g["month"]): g["grade"] for g in sequential["credit_grades"]}
    assert grades[("P0004", D(2024, 2, 1))] == "TERMINATED"
    stopped = {(s["partner_id"], s["month"]): s["status"] for s in sequential["settlements"]}
    assert stopped[("P0004", D(2024, 2, 1))] == "stopped"


@pytest.mark.slow
def test_daily_backfill_overlapping_the_daily_schedule_run(db_url, engine):
    """The daily schedule's run for 5 January while a backfill of January runs: both succeed, rows as sequential."""
    generate_demo(engine, partners=20, months=1, start=D(2024, 1, 1), progress=lambda _line: None)
    assert materialize_range(db_url, "daily_job", "2024-01-01", "2024-01-31").success
    sequential = table_rows(engine, DAILY)
    assert sequential
    for _ in range(3):
        results: list[bool] = []
        _run_together(
            lambda: results.append(_in_thread_run(db_url, "2024-01-01", "2024-01-31", job="daily_job")),  # noqa: B023
            lambda: results.append(_in_thread_run(db_url, "2024-01-05", "2024-01-05", job="daily_job")),  # noqa: B023
        )
        assert results == [True, True]
        assert table_rows(engine, DAILY) == sequential
