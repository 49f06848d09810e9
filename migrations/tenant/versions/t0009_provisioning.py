"""Provisioning: export targets, their runs and reconciliations, scheduled jobs, the outbox.

- `export_targets`: where a tenant's services are provisioned (a format such as `unix`
  or `radius_users`, or a directory such as `ldap`), its options, a secret it needs
  (sealed like service passwords), the folder under the tenant's exports root, and what
  to do with an account a target holds that billing does not: remove or flag.
- `export_runs`: one row per export of a target (written, unchanged, failed), with the
  files' digests, so an operator sees when each target last matched billing.
- `reconciliations`: what each comparison of billing with a target (or with the open
  RADIUS sessions) found: accounts billed but missing, held but not billed, differing,
  whether it was fixed, and the findings themselves (bounded).
- `scheduled_runs`: each period a scheduled job was queued for (`platform/scheduling.py`),
  so that it is queued once, however many schedulers run.
- `outbox`: messages for the workers, written in the same transaction as the change
  that causes them and relayed to the broker afterwards (never lost, never invented).
  At most one unsent message per actor and key, so a burst of changes makes one job.
- `services.password_crypt`: the password as SHA-512 crypt(3), which is what Unix
  shadow files, FreeRADIUS `Crypt-Password` and LDAP `{CRYPT}` hold; made when the
  password is set, so an export never decrypts a password.

Revision ID: t0009
Revises: t0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

revision = "t0009"
down_revision = "t0008"
branch_labels = None
depends_on = None

T = "tenant"


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=None)


def upgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    op.execute(f"ALTER TABLE {schema}.services ADD COLUMN password_crypt text")
    op.create_table(
        "export_targets",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("options", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("secret", sa.LargeBinary),  # a bind password or API secret, sealed (crypto.secretbox)
        sa.Column("folder", sa.Text, nullable=False, unique=True),  # each target owns its folder's files
        sa.Column("enabled", sa.Boolean, nullable=False, server_default="true"),
        sa.Column("on_unbilled", sa.Text, nullable=False, server_default="remove"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("name ~ '^[a-z][a-z0-9_-]{0,39}$'", name="ck_export_targets_name"),
        sa.CheckConstraint("on_unbilled IN ('remove', 'flag')", name="ck_export_targets_on_unbilled"),
        schema=T,
    )
    op.create_table(
        "export_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("target_id", sa.BigInteger, sa.ForeignKey(f"{T}.export_targets.id"), nullable=False),
        _at("started_at", False),
        _at("finished_at", False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("accounts", sa.Integer, nullable=False),
        sa.Column("files", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("outcome IN ('written', 'unchanged', 'failed')", name="ck_export_runs_outcome"),
        schema=T,
    )
    op.create_index("ix_export_runs_target_id", "export_runs", ["target_id", "id"], schema=T)
    op.create_table(
        "reconciliations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("target_id", sa.BigInteger, sa.ForeignKey(f"{T}.export_targets.id")),  # NULL: RADIUS sessions
        sa.Column("subject", sa.Text, nullable=False),  # the target's name, or "radius-sessions"
        _at("ran_at", False),
        sa.Column("missing", sa.Integer, nullable=False),
        sa.Column("unbilled", sa.Integer, nullable=False),
        sa.Column("differing", sa.Integer, nullable=False),
        sa.Column("fixed", sa.Boolean, nullable=False),
        sa.Column("findings", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("note", sa.Text),
        schema=T,
    )
    op.create_index("ix_reconciliations_subject", "reconciliations", ["subject", "id"], schema=T)
    op.create_table(
        "scheduled_runs",
        sa.Column("job", sa.Text, primary_key=True),
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("args", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _at("sent_at"),
        schema=T,
    )
    op.create_index(
        "uq_outbox_unsent",
        "outbox",
        ["actor", "key"],
        unique=True,
        schema=T,
        postgresql_where=sa.text("sent_at IS NULL"),
    )


def downgrade() -> None:
    schema = f'"{context.config.attributes["tenant_schema"]}"'
    for table in ("outbox", "scheduled_runs", "reconciliations", "export_runs", "export_targets"):
        op.execute(f"DROP TABLE {schema}.{table}")
    op.execute(f"ALTER TABLE {schema}.services DROP COLUMN password_crypt")
