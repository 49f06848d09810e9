"""Session tables of a tenant schema (mirrors migration t0006; placeholder schema)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from ..db.schema import tenant_metadata


def _count(name: str) -> Column[int]:
    return Column(name, BigInteger, nullable=False, server_default="0")


radius_sessions = Table(
    "radius_sessions",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("service_id", BigInteger, ForeignKey("services.id"), nullable=False),
    Column("nas_id", BigInteger, nullable=False),
    Column("login", Text, nullable=False),
    Column("state", Text, nullable=False, server_default="authorized"),
    Column("acct_session_id", Text),
    Column("prepaid", Boolean, nullable=False),
    Column("plan_id", BigInteger, ForeignKey("plans.id"), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("authorized_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("stopped_at", DateTime(timezone=True)),
    _count("seconds"),
    _count("octets_in"),
    _count("octets_out"),
    _count("charged_micros"),
    _count("reserved_micros"),
    _count("unpaid_micros"),
    Column("charges", Integer, nullable=False, server_default="0"),
    Column("reservations", Integer, nullable=False, server_default="0"),
    Column("terminate_cause", Text),
    Column("disconnect_requested_at", DateTime(timezone=True)),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)

accounting_packets = Table(
    "accounting_packets",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("session_id", BigInteger, ForeignKey("radius_sessions.id")),
    Column("nas_id", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("status_type", Integer, nullable=False),
    Column("acct_session_id", Text),
    Column("attributes", JSONB, nullable=False),
    Column("entry_ids", ARRAY(BigInteger), nullable=False, server_default=text("'{}'::bigint[]")),
    Column("outcome", Text, nullable=False),
)

service_usage = Table(
    "service_usage",
    tenant_metadata,
    Column("service_id", BigInteger, ForeignKey("services.id"), primary_key=True),
    Column("period_start", Date, primary_key=True),
    _count("seconds"),
    _count("octets_in"),
    _count("octets_out"),
    Column("band_seconds", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _count("charged_micros"),
)
