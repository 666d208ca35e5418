"""users that can be disabled and deleted; groups of users, and roles bound to groups

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``users.disabled_at`` stops every token of a user; ``users.deleted_at`` marks
a tombstone that keeps the name from being reused (audit rows name actors by
name). Groups hold members, and roles on repositories are bound to groups as
to users.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import BigId, UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", UtcDateTime(), nullable=True))
    _create_groups()
    _create_group_members()
    _create_group_role_bindings()


def _create_groups() -> None:
    op.create_table(
        "groups",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_groups_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_groups_tenant_id_name")),
    )
    op.create_index(op.f("ix_groups_tenant_id"), "groups", ["tenant_id"], unique=False)


def _create_group_members() -> None:
    op.create_table(
        "group_members",
        sa.Column("group_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_group_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_members")),
    )
    op.create_index(op.f("ix_group_members_user_id"), "group_members", ["user_id"], unique=False)


def _create_group_role_bindings() -> None:
    op.create_table(
        "group_role_bindings",
        sa.Column("id", BigId, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("group_id", BigId, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_role_bindings_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_group_role_bindings_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_role_bindings")),
        sa.UniqueConstraint(
            "repository_id",
            "group_id",
            "role",
            name=op.f("uq_group_role_bindings_repository_id_group_id_role"),
        ),
    )
    op.create_index(
        op.f("ix_group_role_bindings_group_id"), "group_role_bindings", ["group_id"], unique=False
    )
    op.create_index(
        op.f("ix_group_role_bindings_repository_id"),
        "group_role_bindings",
        ["repository_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("group_role_bindings")
    op.drop_table("group_members")
    op.drop_table("groups")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("disabled_at")
