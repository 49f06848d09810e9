"""Provisioning tables of a tenant schema (mirrors migrations t0009 and t0014; placeholder schema)."""

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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..db.columns import created_at, updated_at
from ..db.schema import tenant_metadata
from ..outbox import outbox

export_targets = Table(
    "export_targets",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("format", Text, nullable=False),
    Column("options", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("secret", LargeBinary),  # sealed with the tenant's box, bound to the target's name
    Column("folder", Text, nullable=False, unique=True),
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

reconciliations = Table(
    "reconciliations",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("target_id", BigInteger, ForeignKey("export_targets.id")),
    Column("subject", Text, nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False),
    Column("missing", Integer, nullable=False),
    Column("unbilled", Integer, nullable=False),
    Column("differing", Integer, nullable=False),
    Column("fixed", Boolean, nullable=False),
    Column("findings", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("note", Text),
)

# t0014: what became of each provisioning job (an outbox message) a worker ran (`jobs.py`).
job_outcomes = Table(
    "job_outcomes",
    tenant_metadata,
    Column("outbox_id", BigInteger, ForeignKey(outbox.c.id, ondelete="CASCADE"), primary_key=True),
    Column("outcome", Text, nullable=False),  # done or failed
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("error", Text),
)
