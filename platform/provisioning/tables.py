"""Provisioning tables of a tenant schema (mirrors migration t0009; placeholder schema)."""

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Identity, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from ..db.columns import created_at, updated_at
from ..db.schema import tenant_metadata

export_targets = Table(
    "export_targets",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("format", Text, nullable=False),
    Column("options", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("folder", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="true"),
    Column("on_unbilled", Text, nullable=False, server_default="remove"),
    created_at(),
    updated_at(),
)

export_runs = Table(
    "export_runs",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("target_id", BigInteger, ForeignKey("export_targets.id"), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("accounts", Integer, nullable=False),
    Column("files", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("error", Text),
)
