"""settlement ledger columns and the exit_deductions source table (SPEC v2 §1, §7)

Revision ID: 0103
Revises: 0107
Create Date: 2026-12-02 07:00:00

``settlements`` gains ``held_in, withheld, released, exit_deducted, paid, held_balance`` after ``carried_out``. The
table is rebuilt (batch "move and copy", on SQLite and PostgreSQL alike) so the new columns sit where the table
definition puts them; every existing row is kept. Existing rows get the ledger their own stored statuses imply —
per partner in month order, ``held_in`` = the previous row's ``held_balance``, ``withheld`` = ``payable`` of a
held/stopped row, a ``payable`` row releases ``held_in`` — so the money-conservation check holds on an upgraded
warehouse at once. Those rows still carry the v1 statuses; ``migu-assets run`` over the months recomputes them
under SPEC v2 (clearing period for every month, 第十条注, exit deductions).
"""

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import migu_assets.warehouse.schema

revision = "0103"
down_revision = "0107"
branch_labels = None
depends_on = None

LEDGER = ("held_in", "withheld", "released", "exit_deducted", "paid", "held_balance")
WITHHELD_STATUSES = ("held", "stopped")


def _money() -> migu_assets.warehouse.schema.ExactDecimal:
    return migu_assets.warehouse.schema.ExactDecimal(precision=14, scale=2)


def upgrade() -> None:
    op.create_table(
        "exit_deductions",
        sa.Column("deduction_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("deduction_id"),
    )
    op.create_index("ix_exit_deductions_partner", "exit_deductions", ["partner_id", "recorded_on"], unique=False)

    # nullable first, filled below, then NOT NULL: no server default is left behind in the schema
    with op.batch_alter_table("settlements", recreate="always") as batch:
        after = "carried_out"
        for name in LEDGER:
            batch.add_column(sa.Column(name, _money(), nullable=True), insert_after=after)
            after = name
    _fill_ledger_of_existing_rows()
    with op.batch_alter_table("settlements") as batch:
        for name in LEDGER:
            batch.alter_column(name, existing_type=_money(), nullable=False)


def _fill_ledger_of_existing_rows() -> None:
    st = sa.table(
        "settlements",
        sa.column("partner_id", sa.String),
        sa.column("month", sa.Date),
        sa.column("payable", _money()),
        sa.column("status", sa.String),
        *(sa.column(name, _money()) for name in LEDGER),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(st.c.partner_id, st.c.month, st.c.payable, st.c.status)).all()
    per_partner: dict[str, list] = defaultdict(list)
    for row in rows:
        per_partner[row.partner_id].append(row)
    zero = Decimal("0.00")
    update = (
        st.update()
        .where(st.c.partner_id == sa.bindparam("pid"), st.c.month == sa.bindparam("mon"))
        .values({name: sa.bindparam(f"v_{name}") for name in LEDGER})
    )
    params = []
    for pid, partner_rows in per_partner.items():
        balance = zero
        for row in sorted(partner_rows, key=lambda r: r.month):
            held_in = balance
            withheld = row.payable if row.status in WITHHELD_STATUSES else zero
            released = held_in if row.status == "payable" else zero
            balance = held_in + withheld - released
            values = (held_in, withheld, released, zero, row.payable - withheld + released, balance)
            params.append({"pid": pid, "mon": row.month, **{f"v_{n}": v for n, v in zip(LEDGER, values, strict=True)}})
    if params:
        conn.execute(update, params)


def downgrade() -> None:
    with op.batch_alter_table("settlements", recreate="always") as batch:
        for name in LEDGER:
            batch.drop_column(name)
    op.drop_index("ix_exit_deductions_partner", table_name="exit_deductions")
    op.drop_table("exit_deductions")
