"""OIDC sign-in: external identities, pending sign-ins, device logins

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

``oidc_identities`` links an IdP's person (issuer + subject) to a user;
``oidc_pending_sign_ins`` holds authorization requests awaiting their callback;
``oidc_device_logins`` holds ``artifortress login --oidc`` requests.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import BigId, UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_identities",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_sign_in_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_oidc_identities_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oidc_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_identities")),
        sa.UniqueConstraint(
            "tenant_id",
            "issuer",
            "subject",
            name=op.f("uq_oidc_identities_tenant_id_issuer_subject"),
        ),
    )
    op.create_index(
        op.f("ix_oidc_identities_tenant_id"), "oidc_identities", ["tenant_id"], unique=False
    )
    op.create_index(
        op.f("ix_oidc_identities_user_id"), "oidc_identities", ["user_id"], unique=False
    )
    op.create_table(
        "oidc_pending_sign_ins",
        sa.Column("id", BigId, nullable=False),
        sa.Column("state_sha256", sa.String(length=64), nullable=False),
        sa.Column("browser_sha256", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_page", sa.String(length=512), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("link_user_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["link_user_id"],
            ["users.id"],
            name=op.f("fk_oidc_pending_sign_ins_link_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_pending_sign_ins")),
        sa.UniqueConstraint("state_sha256", name=op.f("uq_oidc_pending_sign_ins_state_sha256")),
    )
    op.create_table(
        "oidc_device_logins",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("device_code_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_code", sa.String(length=16), nullable=False),
        sa.Column("client_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("last_poll_at", UtcDateTime(), nullable=True),
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("denied", sa.Boolean(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_oidc_device_logins_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oidc_device_logins_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_device_logins")),
        sa.UniqueConstraint(
            "device_code_sha256", name=op.f("uq_oidc_device_logins_device_code_sha256")
        ),
        sa.UniqueConstraint("user_code", name=op.f("uq_oidc_device_logins_user_code")),
    )
    op.create_index(
        op.f("ix_oidc_device_logins_tenant_id"), "oidc_device_logins", ["tenant_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_oidc_device_logins_tenant_id"), table_name="oidc_device_logins")
    op.drop_table("oidc_device_logins")
    op.drop_table("oidc_pending_sign_ins")
    op.drop_index(op.f("ix_oidc_identities_user_id"), table_name="oidc_identities")
    op.drop_index(op.f("ix_oidc_identities_tenant_id"), table_name="oidc_identities")
    op.drop_table("oidc_identities")
