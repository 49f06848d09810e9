"""Idempotency keys on credit notes and on allocations made by hand.

A credit note (`issueCreditNote`) and an allocation of money on account to an invoice
(`allocatePayment`) may carry the caller's key: a retry with the same key and figures
answers with the first result, and nothing is credited or allocated twice. Keys are
unique per table; rows without a key (the CLI's, the bill run's, `record_payment`'s own
allocations, voids) keep NULL.

Revision ID: t0013
Revises: t0012
Create Date: 2026-12-02
"""

from alembic import context, op

revision = "t0013"
down_revision = "t0012"
branch_labels = None
depends_on = None

TABLES = ("credit_notes", "payment_allocations")


def upgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    for table in TABLES:
        op.execute(f"ALTER TABLE {schema}.{table} ADD COLUMN idempotency_key TEXT")
        op.execute(f"CREATE UNIQUE INDEX uq_{table}_idempotency_key ON {schema}.{table} (idempotency_key)")


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    for table in TABLES:
        op.execute(f"DROP INDEX {schema}.uq_{table}_idempotency_key")
        op.execute(f"ALTER TABLE {schema}.{table} DROP COLUMN idempotency_key")
