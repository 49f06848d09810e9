"""RADIUS sessions, their accounting packets, and usage per service and period.

- `radius_sessions`: one row per session from its Access-Accept (state `authorized`,
  with the funds it reserved) through Start and Interim-Updates (`open`, the cumulative
  counters last reported and what has been charged) to Stop or abort. Unique per NAS on
  Acct-Session-Id (RFC 2866: unique per NAS only).
- `accounting_packets`: every Accounting-Request as received (attributes as JSON, the
  NAS, receive time), linked to its session and to the journal entries it caused.
  Append-only.
- `service_usage`: what each service has used and been charged in a billing period, so
  that allowances and tiers apply across all its sessions of the period.

Revision ID: t0006
Revises: t0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None

T = "tenant"


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _count(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def upgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    op.create_table(
        "radius_sessions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("service_id", sa.BigInteger, sa.ForeignKey(f"{T}.services.id"), nullable=False),
        sa.Column("nas_id", sa.BigInteger, nullable=False),  # bureau_shared.nas_clients.id
        sa.Column("login", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="authorized"),
        sa.Column("acct_session_id", sa.Text),
        sa.Column("prepaid", sa.Boolean, nullable=False),
        sa.Column("plan_id", sa.BigInteger, sa.ForeignKey(f"{T}.plans.id"), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        _at("authorized_at", False),
        _at("started_at"),
        _at("updated_at"),
        _at("stopped_at"),
        _count("seconds"),
        _count("octets_in"),
        _count("octets_out"),
        _count("charged_micros"),
        _count("reserved_micros"),
        _count("unpaid_micros"),
        sa.Column("charges", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reservations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("terminate_cause", sa.Text),
        _at("disconnect_requested_at"),
        sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint("state IN ('authorized', 'open', 'closed', 'aborted')", name="ck_radius_sessions_state"),
        sa.CheckConstraint("reserved_micros >= 0 AND charged_micros >= 0", name="ck_radius_sessions_money"),
        schema=T,
    )
    op.create_index(
        "uq_radius_sessions_nas_acct",
        "radius_sessions",
        ["nas_id", "acct_session_id"],
        unique=True,
        schema=T,
        postgresql_where=sa.text("acct_session_id IS NOT NULL"),
    )
    op.create_index(
        "ix_radius_sessions_live",
        "radius_sessions",
        ["service_id"],
        schema=T,
        postgresql_where=sa.text("state IN ('authorized', 'open')"),
    )
    op.create_index(
        "ix_radius_sessions_nas_live",
        "radius_sessions",
        ["nas_id", "updated_at"],
        schema=T,
        postgresql_where=sa.text("state IN ('authorized', 'open')"),
    )
    op.create_table(
        "accounting_packets",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("session_id", sa.BigInteger, sa.ForeignKey(f"{T}.radius_sessions.id")),
        sa.Column("nas_id", sa.BigInteger, nullable=False),
        _at("received_at", False),
        sa.Column("status_type", sa.Integer, nullable=False),
        sa.Column("acct_session_id", sa.Text),
        sa.Column("attributes", JSONB, nullable=False),
        sa.Column("entry_ids", ARRAY(sa.BigInteger), nullable=False, server_default=sa.text("'{}'::bigint[]")),
        sa.Column("outcome", sa.Text, nullable=False),
        schema=T,
    )
    op.create_index("ix_accounting_packets_session_id", "accounting_packets", ["session_id"], schema=T)
    op.create_table(
        "service_usage",
        sa.Column("service_id", sa.BigInteger, sa.ForeignKey(f"{T}.services.id"), primary_key=True),
        sa.Column("period_start", sa.Date, primary_key=True),
        _count("seconds"),
        _count("octets_in"),
        _count("octets_out"),
        sa.Column("band_seconds", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        _count("charged_micros"),
        schema=T,
    )
    op.execute(
        f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {schema}.accounting_packets "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change()"
    )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    for table in ("service_usage", "accounting_packets", "radius_sessions"):
        op.execute(f"DROP TABLE {schema}.{table}")
