"""A NAS may reuse an Acct-Session-Id once the session that had it is over.

NAS restart their session counters (after a reboot, say), so (NAS, Acct-Session-Id) is
unique among live sessions only.

Revision ID: t0008
Revises: t0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import context, op

revision = "t0008"
down_revision = "t0007"
branch_labels = None
depends_on = None

T = "tenant"


def upgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    op.execute(f"DROP INDEX {schema}.uq_radius_sessions_nas_acct")
    op.create_index(
        "uq_radius_sessions_nas_acct",
        "radius_sessions",
        ["nas_id", "acct_session_id"],
        unique=True,
        schema=T,
        postgresql_where=sa.text("acct_session_id IS NOT NULL AND state IN ('authorized', 'open')"),
    )
    op.create_index(
        "ix_radius_sessions_nas_acct",
        "radius_sessions",
        ["nas_id", "acct_session_id"],
        schema=T,
        postgresql_where=sa.text("acct_session_id IS NOT NULL"),
    )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    op.execute(f"DROP INDEX {schema}.ix_radius_sessions_nas_acct")
    op.execute(f"DROP INDEX {schema}.uq_radius_sessions_nas_acct")
    op.create_index(
        "uq_radius_sessions_nas_acct",
        "radius_sessions",
        ["nas_id", "acct_session_id"],
        unique=True,
        schema=T,
        postgresql_where=sa.text("acct_session_id IS NOT NULL"),
    )
