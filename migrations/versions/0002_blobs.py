"""blob data plane: blobs, repository links, upload sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import BigId, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_blobs")),
    )

    op.create_table(
        "repo_blobs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"], ["blobs.digest"], name=op.f("fk_repo_blobs_digest_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_repo_blobs_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repo_blobs")),
        sa.UniqueConstraint(
            "repository_id", "digest", name=op.f("uq_repo_blobs_repository_id_digest")
        ),
    )
    with op.batch_alter_table("repo_blobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repo_blobs_digest"), ["digest"], unique=False)

    op.create_table(
        "upload_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("backend_handle", sa.String(length=1024), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_upload_sessions_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_upload_sessions_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_upload_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_sessions")),
    )
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_upload_sessions_repository_id"), ["repository_id"], unique=False
        )
        batch_op.create_index(
            "ix_upload_sessions_state_expires_at", ["state", "expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_upload_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_sessions_user_id"))
        batch_op.drop_index("ix_upload_sessions_state_expires_at")
        batch_op.drop_index(batch_op.f("ix_upload_sessions_repository_id"))

    op.drop_table("upload_sessions")
    with op.batch_alter_table("repo_blobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repo_blobs_digest"))

    op.drop_table("repo_blobs")
    op.drop_table("blobs")
