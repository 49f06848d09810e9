"""The tenant registry and API keys in the shared schema."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    LargeBinary,
    Table,
    Text,
    func,
)

from bureau.platform.db.schema import shared_metadata

tenants = Table(
    "tenants",
    shared_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("time_zone", Text, nullable=False, server_default="UTC"),  # IANA name (migration s0006)
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('active', 'suspended')", name="status"),
)

api_keys = Table(
    "api_keys",
    shared_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("key_id", Text, nullable=False, unique=True),
    Column("secret_sha256", LargeBinary, nullable=False),
    Column("name", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("tenant_id", BigInteger, ForeignKey("bureau_shared.tenants.id")),
    Column("reseller_id", BigInteger),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)  # mirrors migration s0007; constraints there
