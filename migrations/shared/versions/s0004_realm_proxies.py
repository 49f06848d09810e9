"""Wholesale proxying: downstream RADIUS servers per realm, and what was proxied.

`realm_proxies` lists, for a realm of the registry, the ISP's own RADIUS servers in
failover order (`position`), each with its shared secret sealed with the installation's
key (bound to the tenant, realm, host and position). A realm has at most four; a host
appears once per realm. Dropping the realm from the registry drops its servers.

`proxied_accounting` keeps every Accounting-Request Bureau forwarded for a proxied realm
(raw datagram, NAS, receive time, where it went and whether it was answered), the basis
of wholesale billing. A retransmission of the same datagram from the same NAS is one row
(the unique index on the datagram's SHA-256), so the NAS retrying after a downstream
timeout does not count twice. No foreign keys to the NAS or the realm: the records
outlive both.

Revision ID: s0004
Revises: s0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None

SHARED = "bureau_shared"


def upgrade() -> None:
    op.create_table(
        "realm_proxies",
        sa.Column("realm", sa.Text, sa.ForeignKey(f"{SHARED}.realms.realm", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("auth_port", sa.Integer, nullable=False),
        sa.Column("acct_port", sa.Integer, nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("realm", "position", name="pk_realm_proxies"),
        sa.UniqueConstraint("realm", "host", name="uq_realm_proxies_realm_host"),
        sa.CheckConstraint("position >= 0", name="ck_realm_proxies_position"),
        sa.CheckConstraint(
            "auth_port BETWEEN 1 AND 65535 AND acct_port BETWEEN 1 AND 65535", name="ck_realm_proxies_ports"
        ),
        schema=SHARED,
    )
    op.create_table(
        "proxied_accounting",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.BigInteger, sa.ForeignKey(f"{SHARED}.tenants.id"), nullable=False),
        sa.Column("realm", sa.Text, nullable=False),
        sa.Column("nas_id", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_type", sa.Integer),
        sa.Column("acct_session_id", sa.Text),
        sa.Column("user_name", sa.Text),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("forwarded_to", sa.Text),
        sa.Column("answered", sa.Boolean, nullable=False, server_default="false"),
        schema=SHARED,
    )
    op.create_index(
        "ix_proxied_accounting_tenant_id_received_at",
        "proxied_accounting",
        ["tenant_id", "received_at"],
        schema=SHARED,
    )
    op.create_index(
        "uq_proxied_accounting_nas_id_raw",
        "proxied_accounting",
        ["nas_id", sa.text("sha256(raw)")],
        unique=True,
        schema=SHARED,
    )


def downgrade() -> None:
    op.drop_table("proxied_accounting", schema=SHARED)
    op.drop_table("realm_proxies", schema=SHARED)
