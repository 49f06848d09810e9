"""Void invoices: when and why an invoice was voided.

`voidInvoice` credits the net left on every line; until now the invoice then read
`paid`. `invoices.voided_at` and `void_reason` record the first void (both set, or
neither), and the invoice reads `void` from then on. Invoices voided before this
revision get theirs from the audit log's first `billing.invoice.void` record.

Revision ID: t0015
Revises: t0014
Create Date: 2026-12-02
"""

from alembic import context, op

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    op.execute(f"ALTER TABLE {schema}.invoices ADD COLUMN voided_at TIMESTAMPTZ, ADD COLUMN void_reason TEXT")
    # The first void's record (a void writes one only when it voids); the schema is the
    # migration's own (tenant routing names it), never input.
    op.execute(
        f"UPDATE {schema}.invoices AS i SET voided_at = a.at, void_reason = btrim(a.details ->> 'reason') "  # noqa: S608
        f"FROM (SELECT DISTINCT ON (subject) subject, at, details FROM {schema}.audit_log "
        "WHERE action = 'billing.invoice.void' ORDER BY subject, id) AS a "
        "WHERE a.subject = 'invoice:' || i.number"
    )
    op.execute(
        f"ALTER TABLE {schema}.invoices ADD CONSTRAINT ck_invoices_void "
        "CHECK ((voided_at IS NULL) = (void_reason IS NULL))"
    )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    op.execute(f"ALTER TABLE {schema}.invoices DROP CONSTRAINT ck_invoices_void")
    op.execute(f"ALTER TABLE {schema}.invoices DROP COLUMN void_reason, DROP COLUMN voided_at")
