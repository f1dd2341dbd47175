"""独家授权 backed by the database: a trigger refuses a second subsidiary's approved declaration per parent

SPEC §1/§4.2: at most one subsidiary holds an approved declaration authorised by a given parent. A partial unique
index cannot say it (one subsidiary may hold several approved declarations of the same parent), so a BEFORE
INSERT/UPDATE trigger checks it, helped by a partial index on the approved, authorised declarations. The loader
checks the rule first and names the row; the trigger is the backstop for every other writer and for races.

Revision ID: 0105
Revises: 0103
Create Date: 2026-12-02 07:10:00
"""

from alembic import op

revision = "0105"
down_revision = "0103"
branch_labels = None
depends_on = None

INDEX = "ix_importance_declarations_parent_approved"
WHERE = "review_status = 'approved' AND authorized_by_parent IS NOT NULL"
MESSAGE = "exclusive_authorisation (独家授权): parent already authorised another subsidiary"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION migu_exclusive_authorisation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.review_status = 'approved' AND NEW.authorized_by_parent IS NOT NULL AND EXISTS (
        SELECT 1 FROM importance_declarations d
        WHERE d.review_status = 'approved' AND d.authorized_by_parent = NEW.authorized_by_parent
          AND d.partner_id <> NEW.partner_id AND d.declaration_id <> NEW.declaration_id
    ) THEN
        RAISE EXCEPTION '{MESSAGE}: % (declaration %, partner %)', NEW.authorized_by_parent, NEW.declaration_id,
            NEW.partner_id USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END $$
"""
PG_TRIGGER = """
CREATE TRIGGER importance_declarations_exclusive BEFORE INSERT OR UPDATE ON importance_declarations
FOR EACH ROW EXECUTE FUNCTION migu_exclusive_authorisation()
"""
SQLITE_CONDITION = """NEW.review_status = 'approved' AND NEW.authorized_by_parent IS NOT NULL AND EXISTS (
    SELECT 1 FROM importance_declarations d
    WHERE d.review_status = 'approved' AND d.authorized_by_parent = NEW.authorized_by_parent
      AND d.partner_id <> NEW.partner_id AND d.declaration_id <> NEW.declaration_id)"""


def upgrade() -> None:
    op.execute(f"CREATE INDEX {INDEX} ON importance_declarations (authorized_by_parent, partner_id) WHERE {WHERE}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(f"CREATE TRIGGER importance_declarations_exclusive_{event.lower()} BEFORE {event} ON "
                       f"importance_declarations WHEN {SQLITE_CONDITION} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS importance_declarations_exclusive ON importance_declarations")
        op.execute("DROP FUNCTION IF EXISTS migu_exclusive_authorisation()")
    else:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS importance_declarations_exclusive_{event}")
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
