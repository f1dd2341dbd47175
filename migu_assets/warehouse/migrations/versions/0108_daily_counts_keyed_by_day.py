"""daily_complaint_counts keyed by (day, partner_id): one index instead of two

The table had the primary key (partner_id, day) and a second index on day for the monthly reads (every reader selects
a day range: warning tiers and health by month, explain by partner and month). Keyed by (day, partner_id), the
primary key serves all of them and the day index goes; explain's one partner in one month now walks the month's
range of the key (~150,000 entries at full size: 14 ms on PostgreSQL, against well under 1 ms before), once per
explanation. Writing a year's 1.2 M daily counts (``INSERT … SELECT`` in
key order) then maintains one index instead of two, and the new rows land at its right edge: 6.5 s → 4.5 s on
PostgreSQL at full size (BENCHMARKS.md, "Issue 14 — fourth pass"). Rows are kept; on SQLite the table is rebuilt.

Revision ID: 0108
Revises: 0105
Create Date: 2026-12-02 16:10:00
"""

from alembic import op

revision = "0108"
down_revision = "0105"
branch_labels = None
depends_on = None

TABLE = "daily_complaint_counts"
DAY_INDEX = "ix_daily_complaint_counts_day"
PKEY = "daily_complaint_counts_pkey"  # PostgreSQL's name for the key 0001 created; SQLite keys are unnamed


def _rekey(key: list[str], day_index: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        if not day_index:
            op.drop_index(DAY_INDEX, table_name=TABLE)
        op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {PKEY}")
        op.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {PKEY} PRIMARY KEY ({', '.join(key)})")
        if day_index:
            op.create_index(DAY_INDEX, TABLE, ["day"], unique=False)
        return
    with op.batch_alter_table(TABLE, recreate="always") as batch:
        if not day_index:
            batch.drop_index(DAY_INDEX)
        batch.create_primary_key(PKEY, key)
        if day_index:
            batch.create_index(DAY_INDEX, ["day"], unique=False)


def upgrade() -> None:
    _rekey(["day", "partner_id"], day_index=False)


def downgrade() -> None:
    _rekey(["partner_id", "day"], day_index=True)
