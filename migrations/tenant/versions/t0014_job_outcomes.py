"""Job outcomes: what became of each provisioning job the workers ran.

- `job_outcomes`: one row per outbox message a worker ran for the export or the
  reconciliation actor, keyed by the message's outbox id (the relay hands it to the
  worker with the message): `done`, or `failed` with what went wrong, and when it
  finished. A message run again (a retry, a redelivery) overwrites its row: the
  latest run's outcome stands. Without a row, a sent job has not finished yet.

Revision ID: t0014
Revises: t0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

revision = "t0014"
down_revision = "t0013"
branch_labels = None
depends_on = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "job_outcomes",
        sa.Column(
            "outbox_id",
            sa.BigInteger,
            sa.ForeignKey(f"{T}.outbox.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text),  # what went wrong, for a failed one
        sa.CheckConstraint("outcome IN ('done', 'failed')", name="ck_job_outcomes_outcome"),
        schema=T,
    )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    op.execute(f"DROP TABLE {schema}.job_outcomes")
