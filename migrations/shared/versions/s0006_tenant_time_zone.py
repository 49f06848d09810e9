"""Each tenant's time zone: its scheduled jobs (nightly reconciliation, month-end) run at
local times (IANA name, default UTC).

Revision ID: s0006
Revises: s0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "s0006"
down_revision = "s0005"
branch_labels = None
depends_on = None

SHARED = "bureau_shared"


def upgrade() -> None:
    op.add_column("tenants", sa.Column("time_zone", sa.Text, nullable=False, server_default="UTC"), schema=SHARED)


def downgrade() -> None:
    op.drop_column("tenants", "time_zone", schema=SHARED)
