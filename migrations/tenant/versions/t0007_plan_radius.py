"""What a plan tells the NAS: reply attributes, sessions at once, interim interval.

`plans.radius_attributes` holds named RADIUS attributes for the Access-Accept (rate
limits, an IP pool, Idle-Timeout, vendor attributes) as JSON; names are checked against
the RADIUS dictionary where they are set. `max_sessions` is how many sessions one
service of the plan may hold at once; `interim_interval` the Acct-Interim-Interval to
ask for (at least 60 s, RFC 2869), or NULL for the server's default.

Revision ID: t0007
Revises: t0006
Create Date: 2026-11-23
"""

from alembic import context, op

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None

T = "tenant"


def upgrade() -> None:
    # ALTER TABLE ... ADD COLUMN does not go through the schema translate map: name the
    # tenant's schema as routing gave it.
    plans = f'"{context.config.attributes["tenant_schema"]}".plans'
    op.execute(f"ALTER TABLE {plans} ADD COLUMN radius_attributes JSONB NOT NULL DEFAULT '{{}}'::jsonb")
    op.execute(f"ALTER TABLE {plans} ADD COLUMN max_sessions INTEGER NOT NULL DEFAULT 1")
    op.execute(f"ALTER TABLE {plans} ADD COLUMN interim_interval INTEGER")
    op.create_check_constraint("ck_plans_max_sessions", "plans", "max_sessions BETWEEN 1 AND 100", schema=T)
    op.create_check_constraint(
        "ck_plans_interim_interval",
        "plans",
        "interim_interval IS NULL OR interim_interval BETWEEN 60 AND 86400",
        schema=T,
    )


def downgrade() -> None:
    plans = f'"{context.config.attributes["tenant_schema"]}".plans'
    for column in ("interim_interval", "max_sessions", "radius_attributes"):
        op.execute(f"ALTER TABLE {plans} DROP COLUMN {column}")
