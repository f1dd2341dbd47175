"""readable money and scores on SQLite; demo_marks

SQLite warehouses stored money and scores as scaled integers (71250 for 712.50). From this revision they hold the
value itself in NUMERIC columns, so any SQLite client reads 712.5; the product's sums stay exact because it sums
``CAST(ROUND(x * 100) AS INTEGER)`` (``schema.scaled``). The conversion divides by 10^scale in SQL: IEEE division
is correctly rounded, so each value becomes the double nearest its decimal — the same value a fresh write stores.
Only columns still declared as integers are converted, so the step is safe whatever order other revisions that
add exact-decimal columns run in. PostgreSQL already stores NUMERIC: nothing changes there but the new table.

``demo_marks`` records which source rows the demo wrote, so quickstart / ``demo --replace`` never delete others.

Revision ID: 0107
Revises: 0104
Create Date: 2026-12-02 07:30:00
"""

import sqlalchemy as sa
from alembic import op

from migu_assets.warehouse.schema import ExactDecimal, metadata

revision = "0107"
down_revision = "0104"
branch_labels = None
depends_on = None


def _exact_columns(conn, *, declared_integer: bool) -> dict[str, list[sa.Column]]:
    """table → its exact-decimal columns whose SQLite declaration is (not) an integer type, for tables present."""
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    out: dict[str, list[sa.Column]] = {}
    for table in metadata.sorted_tables:
        if table.name not in present:
            continue
        declared = {c["name"]: str(c["type"]).upper() for c in inspector.get_columns(table.name)}
        cols = [
            c
            for c in table.columns
            if isinstance(c.type, ExactDecimal)
            and c.name in declared
            and ("INT" in declared[c.name]) == declared_integer
        ]
        if cols:
            out[table.name] = cols
    return out


def upgrade() -> None:
    op.create_table(
        "demo_marks",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("keys_sha256", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("table_name"),
    )
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for name, cols in _exact_columns(conn, declared_integer=True).items():
        sets = ", ".join(f'"{c.name}" = "{c.name}" / {float(10 ** c.type.scale)!r}' for c in cols)
        conn.execute(sa.text(f'UPDATE "{name}" SET {sets}'))
        with op.batch_alter_table(name, recreate="always") as batch:
            for c in cols:
                batch.alter_column(
                    c.name,
                    existing_type=sa.BigInteger(),
                    type_=sa.Numeric(c.type.impl.precision, c.type.scale),
                    existing_nullable=c.nullable,
                )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name, cols in _exact_columns(conn, declared_integer=False).items():
            sets = ", ".join(
                f'"{c.name}" = CAST(ROUND("{c.name}" * {10 ** c.type.scale}) AS INTEGER)' for c in cols
            )
            conn.execute(sa.text(f'UPDATE "{name}" SET {sets}'))
            with op.batch_alter_table(name, recreate="always") as batch:
                for c in cols:
                    batch.alter_column(
                        c.name,
                        existing_type=sa.Numeric(c.type.impl.precision, c.type.scale),
                        type_=sa.BigInteger(),
                        existing_nullable=c.nullable,
                    )
    op.drop_table("demo_marks")
