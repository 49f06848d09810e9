"""Prepaid vouchers: batches, vouchers (codes stored only as SHA-256 digests) and
redemption attempts (for throttling).

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None

T = "tenant"  # placeholder, translated to the tenant's schema


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()"))


def upgrade() -> None:
    op.create_table(
        "voucher_batches",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("value_micros", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reseller_id", sa.BigInteger, sa.ForeignKey(f"{T}.entities.id")),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("sold_at", sa.DateTime(timezone=True)),
        sa.Column("sale_entry_id", sa.BigInteger, sa.ForeignKey(f"{T}.journal_entries.id")),
        _created_at(),
        sa.CheckConstraint("value_micros > 0", name="ck_voucher_batches_value"),
        sa.CheckConstraint("count BETWEEN 1 AND 100000", name="ck_voucher_batches_count"),
        sa.CheckConstraint("status IN ('active', 'void')", name="ck_voucher_batches_status"),
        sa.CheckConstraint("(sold_at IS NULL) = (sale_entry_id IS NULL)", name="ck_voucher_batches_sale"),
        schema=T,
    )
    op.create_index("ix_voucher_batches_expires_at", "voucher_batches", ["expires_at"], schema=T)
    op.create_table(
        "vouchers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("batch_id", sa.BigInteger, sa.ForeignKey(f"{T}.voucher_batches.id"), nullable=False),
        sa.Column("serial", sa.Text, nullable=False),
        sa.Column("code_hash", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="issued"),
        sa.Column("redeemed_by", sa.BigInteger, sa.ForeignKey(f"{T}.entities.id")),
        sa.Column("redeemed_at", sa.DateTime(timezone=True)),
        sa.Column("entry_id", sa.BigInteger, sa.ForeignKey(f"{T}.journal_entries.id")),
        sa.UniqueConstraint("serial", name="uq_vouchers_serial"),
        sa.UniqueConstraint("code_hash", name="uq_vouchers_code_hash"),
        sa.CheckConstraint("state IN ('issued', 'redeemed', 'void', 'expired')", name="ck_vouchers_state"),
        sa.CheckConstraint("octet_length(code_hash) = 32", name="ck_vouchers_code_hash"),
        sa.CheckConstraint(
            "(state = 'redeemed') = (redeemed_by IS NOT NULL AND redeemed_at IS NOT NULL)",
            name="ck_vouchers_redeemed",
        ),
        schema=T,
    )
    op.create_index("ix_vouchers_batch_id_state", "vouchers", ["batch_id", "state"], schema=T)
    op.create_table(
        "voucher_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entity_id", sa.BigInteger, sa.ForeignKey(f"{T}.entities.id"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        schema=T,
    )
    op.create_index("ix_voucher_attempts_entity_id_at", "voucher_attempts", ["entity_id", "at"], schema=T)


def downgrade() -> None:
    op.drop_table("voucher_attempts", schema=T)
    op.drop_table("vouchers", schema=T)
    op.drop_table("voucher_batches", schema=T)
