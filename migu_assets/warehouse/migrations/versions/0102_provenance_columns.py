"""provenance: every output row names its policy version and Dagster run

Revision ID: 0102
Revises: 0002
Create Date: 2026-12-02

Existing rows keep NULL in both columns (computed before provenance was recorded); a recomputation fills them.
"""

from alembic import op
import sqlalchemy as sa

revision = "0102"
down_revision = "0002"
branch_labels = None
depends_on = None

OUTPUT_TABLES = (
    "daily_complaint_counts",
    "warning_tiers",
    "health_scores",
    "importance_scores",
    "monthly_credit_scores",
    "credit_scores",
    "credit_grades",
    "control_actions",
    "settlements",
    "renewal_decisions",
    "partner_status",
)


def upgrade() -> None:
    for table in OUTPUT_TABLES:
        op.add_column(table, sa.Column("policy_version", sa.String(32), nullable=True))
        op.add_column(table, sa.Column("run_id", sa.String(64), nullable=True))


def downgrade() -> None:
    for table in OUTPUT_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("run_id")
            batch.drop_column("policy_version")
