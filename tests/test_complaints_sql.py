"""第七条, 附件6 in SQL: ``daily_complaint_counts`` is computed and written inside the database (one INSERT … SELECT,
issue 14), so the SQL form of the notification rule must equal ``rules.complaints.notifications_for`` on both
databases, and the rows must equal the row-by-row path (``compute.complaints.daily_counts``), each day under its
own month's policy version."""

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from factories import complaints_on, insert, partner, table_rows, ticket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migu_assets.compute import complaints as compute
from migu_assets.policy import ComplaintRules, load_policy_book
from migu_assets.rules.complaints import notifications_for
from migu_assets.warehouse import schema, writer

D = dt.date
TWO_VERSIONS = Path(__file__).parent / "policies" / "two_versions"  # threshold/step 5/5, then 3/3 from 2024-04


def test_article_7_sql_form_at_the_boundaries(engine):
    """v2.1 (threshold 5, step 5): 4 → 0, 5 → 1, 9 → 1, 10 → 2, 14 → 2, 15 → 3 (hand-computed)."""
    rules = ComplaintRules(notification_threshold=5, notification_step=5)
    values = sa.union_all(*[sa.select(sa.literal(k).label("n")) for k in (0, 1, 4, 5, 9, 10, 14, 15)]).subquery()
    q = sa.select(values.c.n, compute.notifications_sql(values.c.n, rules)).order_by(values.c.n)
    with engine.connect() as conn:
        got = dict(conn.execute(q).tuples().all())
    assert got == {0: 0, 1: 0, 4: 0, 5: 1, 9: 1, 10: 2, 14: 2, 15: 3}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    threshold=st.integers(1, 30),
    step=st.integers(1, 30),
    counts=st.lists(st.integers(1, 500), min_size=1, max_size=30),
)
def test_article_7_sql_form_equals_the_rule(engine, threshold, step, counts):
    rules = ComplaintRules(notification_threshold=threshold, notification_step=step)
    values = sa.union_all(*[sa.select(sa.literal(k).label("n")) for k in counts]).subquery()
    q = sa.select(values.c.n, compute.notifications_sql(values.c.n, rules))
    with engine.connect() as conn:
        got = conn.execute(q).tuples().all()
    assert sorted(got) == sorted((k, notifications_for(k, rules)) for k in counts)


def test_rows_written_in_the_database_equal_the_row_path_under_two_policy_versions(engine):
    """March under v2.1 (5/5), April under v2.2-test (3/3): 4 complaints → 0 notifications on 03-31, 1 on 04-01;
    10 → 2 in March, 3 in April (1 + (10 − 3) // 3). Window 03-15 … 04-15 (a half-month each side)."""
    insert(engine, schema.partners, [partner("P1"), partner("P2")])
    rows = complaints_on("P1", D(2024, 3, 31), 4) + complaints_on("P1", D(2024, 4, 1), 4)
    rows += complaints_on("P2", D(2024, 3, 20), 10) + complaints_on("P2", D(2024, 4, 10), 10, hour=23)
    rows += complaints_on("P2", D(2024, 4, 15), 9)  # outside the window
    rows += [ticket("P1", dt.datetime(2024, 3, 20, 9), category="other")]  # not a complaint
    insert(engine, schema.complaint_tickets, rows)
    book = load_policy_book(TWO_VERSIONS)
    start, end = D(2024, 3, 15), D(2024, 4, 15)
    table = schema.daily_complaint_counts
    insert(engine, table, [{"partner_id": "P1", "day": D(2024, 3, 16), "complaints": 99, "notifications": 9}])

    written = writer.replace_partition_from(
        engine, table, "day", start, end, compute.daily_counts_select(book, start, end, "run-1")
    )

    stored = table_rows(engine, table, ["day", "partner_id"], with_run_id=True)
    assert written == len(stored) == 4  # the stale 03-16 row replaced, 04-15 not in the window
    assert [(r["partner_id"], r["day"], r["complaints"], r["notifications"], r["policy_version"]) for r in stored] == [
        ("P2", D(2024, 3, 20), 10, 2, "2.1"),
        ("P1", D(2024, 3, 31), 4, 0, "2.1"),
        ("P1", D(2024, 4, 1), 4, 1, "2.2-test"),
        ("P2", D(2024, 4, 10), 10, 3, "2.2-test"),
    ]
    assert {r["run_id"] for r in stored} == {"run-1"}
    with engine.connect() as conn:
        by_rows = compute.daily_counts(conn, book, start, end)
    assert [(r["partner_id"], r["day"], r["complaints"], r["notifications"]) for r in by_rows] == [
        (r["partner_id"], r["day"], r["complaints"], r["notifications"]) for r in stored
    ]


def test_the_window_is_inserted_in_primary_key_order(engine):
    """The INSERT … SELECT orders the computed rows by the table's key — (day, partner_id) since migration 0108 —
    so the key's index takes them at its right edge (the year's daily counts on PostgreSQL: 8.5–9.9 s against
    14.9–20.7 s unordered with the old key and its second index; 4.5 s with the day-first key alone)."""
    insert(engine, schema.partners, [partner("P1"), partner("P2")])
    insert(engine, schema.complaint_tickets,
           complaints_on("P2", D(2024, 3, 1), 5) + complaints_on("P1", D(2024, 3, 2), 6))
    statements: list[str] = []

    def seen(conn, cursor, statement, *_):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        start, end = D(2024, 3, 1), D(2024, 4, 1)
        written = writer.replace_partition_from(engine, schema.daily_complaint_counts, "day", start, end,
                                                compute.daily_counts_select(load_policy_book(), start, end, "r"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    (insert_sql,) = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert written == 2
    assert "ORDER BY computed.day, computed.partner_id" in " ".join(insert_sql.split())
