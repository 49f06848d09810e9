"""NAS registry: address or CIDR → tenant, with its secret sealed (DESIGN.md §3).

A RADIUS datagram is attributed to a tenant by its source address before anything else
is read, so NAS ranges may not overlap anywhere in the installation (an exclusion
constraint on the `inet` ranges). The shared secret is stored sealed with the
installation's secret key, bound to the row's tenant and address.

Revision ID: s0003
Revises: s0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import CIDR, ExcludeConstraint

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None

SHARED = "bureau_shared"


def upgrade() -> None:
    op.create_table(
        "nas_clients",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.BigInteger, sa.ForeignKey(f"{SHARED}.tenants.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", CIDR, nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary, nullable=False),
        sa.Column("nas_identifier", sa.Text),
        sa.Column("nas_type", sa.Text, nullable=False, server_default="other"),
        sa.Column("coa_port", sa.Integer, nullable=False, server_default="3799"),
        sa.Column("require_message_authenticator", sa.Boolean, nullable=False, server_default="true"),
        sa.Column("limit_proxy_state", sa.Boolean, nullable=False, server_default="true"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "name", name="uq_nas_clients_tenant_name"),
        sa.CheckConstraint("coa_port BETWEEN 1 AND 65535", name="ck_nas_clients_coa_port"),
        ExcludeConstraint(
            (sa.column("address"), "&&"), using="gist", name="ex_nas_clients_address", ops={"address": "inet_ops"}
        ),
        schema=SHARED,
    )
    op.create_index("ix_nas_clients_tenant_id", "nas_clients", ["tenant_id"], schema=SHARED)


def downgrade() -> None:
    op.drop_table("nas_clients", schema=SHARED)
