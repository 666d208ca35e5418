"""trusted publishers: CI identities allowed to publish, and exchanged ID tokens

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

``trusted_publishers`` names, per repository, an OIDC issuer and the claims its
ID tokens must carry, with the service user and token row minted tokens act
through; ``used_id_tokens`` keeps each exchanged token's ``jti`` until it
expires, so a replay is refused on every node.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import BigId, JsonDoc, UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_publishers",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("constraints", JsonDoc, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_trusted_publishers_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_trusted_publishers_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_trusted_publishers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["tokens.id"],
            name=op.f("fk_trusted_publishers_token_id_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_publishers")),
    )
    op.create_index(
        "ix_trusted_publishers_tenant_id_issuer",
        "trusted_publishers",
        ["tenant_id", "issuer"],
        unique=False,
    )
    op.create_index(
        op.f("ix_trusted_publishers_repository_id"),
        "trusted_publishers",
        ["repository_id"],
        unique=False,
    )
    op.create_table(
        "used_id_tokens",
        sa.Column("id", BigId, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_id_tokens")),
        sa.UniqueConstraint("key", name=op.f("uq_used_id_tokens_key")),
    )
    op.create_index(
        op.f("ix_used_id_tokens_expires_at"), "used_id_tokens", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_used_id_tokens_expires_at"), table_name="used_id_tokens")
    op.drop_table("used_id_tokens")
    op.drop_index(op.f("ix_trusted_publishers_repository_id"), table_name="trusted_publishers")
    op.drop_index("ix_trusted_publishers_tenant_id_issuer", table_name="trusted_publishers")
    op.drop_table("trusted_publishers")
