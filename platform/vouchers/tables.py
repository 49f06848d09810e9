"""Voucher tables of a tenant schema (declared in the placeholder schema, see db.schema).

Mirrors migration t0004. A voucher's code is never stored: only its SHA-256 digest
(see codes.py).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    Table,
    Text,
    func,
)

from ..db.schema import tenant_metadata

voucher_batches = Table(
    "voucher_batches",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("value_micros", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("count", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("reseller_id", BigInteger, ForeignKey("entities.id")),
    Column("status", Text, nullable=False, server_default="active"),
    Column("sold_at", DateTime(timezone=True)),
    Column("sale_entry_id", BigInteger, ForeignKey("journal_entries.id")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

vouchers = Table(
    "vouchers",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("batch_id", BigInteger, ForeignKey("voucher_batches.id"), nullable=False),
    Column("serial", Text, nullable=False, unique=True),
    Column("code_hash", LargeBinary, nullable=False, unique=True),
    Column("state", Text, nullable=False, server_default="issued"),
    Column("redeemed_by", BigInteger, ForeignKey("entities.id")),
    Column("redeemed_at", DateTime(timezone=True)),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id")),
)

voucher_attempts = Table(
    "voucher_attempts",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("entity_id", BigInteger, ForeignKey("entities.id"), nullable=False),
    Column("source", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("success", Boolean, nullable=False),
)
