"""The tenant registry in the shared schema."""

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Identity, Table, Text, func

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
