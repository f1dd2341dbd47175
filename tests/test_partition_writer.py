"""Idempotent partitions (SPEC §9): recomputing a month replaces exactly its rows in one transaction, and a
failure mid-write leaves the previous rows in place."""

import datetime as dt

import pytest
import sqlalchemy as sa
from factories import table_rows

from migu_assets.warehouse import schema, writer

D = dt.date
T = schema.daily_complaint_counts


def _rows(day, n, start=0):
    return [{"partner_id": f"P{i}", "day": day, "complaints": 5, "notifications": 1} for i in range(start, start + n)]


def test_replace_touches_only_its_window(engine):
    writer.replace_partition(engine, T, "day", D(2024, 1, 1), D(2024, 1, 2), _rows(D(2024, 1, 1), 3))
    writer.replace_partition(engine, T, "day", D(2024, 1, 2), D(2024, 1, 3), _rows(D(2024, 1, 2), 2))
    writer.replace_partition(engine, T, "day", D(2024, 1, 1), D(2024, 1, 2), _rows(D(2024, 1, 1), 1, start=7))
    rows = table_rows(engine, T, ["day", "partner_id"])
    assert [(r["day"], r["partner_id"]) for r in rows] == [
        (D(2024, 1, 1), "P7"),
        (D(2024, 1, 2), "P0"),
        (D(2024, 1, 2), "P1"),
    ]


def test_failure_mid_write_keeps_previous_rows(engine, monkeypatch):
    day = D(2024, 1, 1)
    writer.replace_partition(engine, T, "day", day, D(2024, 1, 2), _rows(day, 3))
    before = table_rows(engine, T)
    monkeypatch.setattr(writer, "INSERT_CHUNK", 2)  # the bad row lands in the second insert statement
    bad = _rows(day, 3, start=10) + [{"partner_id": None, "day": day, "complaints": 1, "notifications": 0}]
    with pytest.raises(sa.exc.IntegrityError):
        writer.replace_partition(engine, T, "day", day, D(2024, 1, 2), bad)
    assert table_rows(engine, T) == before


def test_row_outside_the_window_is_refused(engine):
    with pytest.raises(ValueError, match="outside the partition"):
        writer.replace_partition(engine, T, "day", D(2024, 1, 1), D(2024, 1, 2), _rows(D(2024, 1, 2), 1))
    assert table_rows(engine, T) == []
