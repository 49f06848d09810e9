"""Ledger tables of a tenant schema (declared in the placeholder schema, see db.schema).

Postings carry signed amounts, debit positive. Balances are kept per account in one
or more shard rows, oriented to the account's normal side (`sign` +1 for debit-normal,
-1 for credit-normal), so a guarded account's floor reads naturally ("main balance
>= 0"). A hot account (ISP revenue, total sessions) has several shard rows so that
concurrent entries do not queue on one row lock; its balance is the sum of its shards.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..db.schema import tenant_metadata

entities = Table(
    "entities",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("parent_id", BigInteger, ForeignKey("entities.id")),
    Column("reseller_id", BigInteger, ForeignKey("entities.id")),
    Column("currency", Text, nullable=False),
    Column("prepaid", Boolean, nullable=False, server_default="true"),
    Column("credit_limit_micros", BigInteger, nullable=False, server_default="0"),
    Column("status", Text, nullable=False, server_default="active"),
    Column("attributes", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("kind IN ('isp', 'reseller', 'subscriber')", name="kind"),
    CheckConstraint("status IN ('active', 'suspended', 'closed')", name="status"),
    CheckConstraint("credit_limit_micros >= 0", name="credit_limit"),
)

accounts = Table(
    "accounts",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("entity_id", BigInteger, ForeignKey("entities.id"), nullable=False),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("sign", SmallInteger, nullable=False),
    Column("shards", SmallInteger, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("entity_id", "code"),
    CheckConstraint("sign IN (-1, 1)", name="sign"),
    CheckConstraint("shards BETWEEN 1 AND 64", name="shards"),
)

account_balances = Table(
    "account_balances",
    tenant_metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id"), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("floor", BigInteger),
    # The guard of last resort: the posting service refuses an overdraft with a clear
    # error before this fires; if it ever fires, that is a bug, not a user error.
    CheckConstraint("floor IS NULL OR balance >= floor", name="floor"),
)

journal_entries = Table(
    "journal_entries",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("content_hash", LargeBinary, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("posted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "posted_at"),
)

postings = Table(
    "postings",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("unit", Text, nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount <> 0", name="nonzero"),
    Index(None, "account_id", "posted_at"),
    Index(None, "entry_id"),
)
