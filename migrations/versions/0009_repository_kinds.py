"""repository kinds: hosted, remote (pull-through cache of an upstream), virtual (a union)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Every existing repository is hosted. A remote has one upstream (URL, optional
credentials with the password encrypted, metadata TTL); a virtual has ordered
members and the name patterns that may merge remote versions despite a hosted
claim. A repository that is a member of a virtual cannot be deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import BigId, JsonDoc

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="hosted", nullable=False)
        )
    _create_upstreams()
    _create_virtuals()
    _create_virtual_members()


def _create_upstreams() -> None:
    op.create_table(
        "repository_upstreams",
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("password_encrypted", sa.Text(), nullable=True),
        sa.Column("metadata_ttl_seconds", sa.Integer(), server_default="600", nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_repository_upstreams_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repository_id", name=op.f("pk_repository_upstreams")),
    )


def _create_virtuals() -> None:
    op.create_table(
        "repository_virtuals",
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("merge_patterns", JsonDoc, nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_repository_virtuals_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repository_id", name=op.f("pk_repository_virtuals")),
    )


def _create_virtual_members() -> None:
    op.create_table(
        "virtual_members",
        sa.Column("virtual_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["virtual_id"],
            ["repositories.id"],
            name=op.f("fk_virtual_members_virtual_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["repositories.id"],
            name=op.f("fk_virtual_members_member_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("virtual_id", "position", name=op.f("pk_virtual_members")),
        sa.UniqueConstraint(
            "virtual_id", "member_id", name=op.f("uq_virtual_members_virtual_id_member_id")
        ),
    )
    op.create_index(
        op.f("ix_virtual_members_member_id"), "virtual_members", ["member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_virtual_members_member_id"), table_name="virtual_members")
    op.drop_table("virtual_members")
    op.drop_table("repository_virtuals")
    op.drop_table("repository_upstreams")
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("kind")
