"""remote cache: upstream metadata documents and single-flight fetch leases

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``remote_documents`` keeps what a remote repository fetched from its upstream
(or a short-lived 404) with the validators to revalidate it; ``remote_fetches``
holds a lease per key being fetched, so one process or node fetches while the
others wait for its result.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import BigId, UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_documents",
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("fetched_at", UtcDateTime(), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_remote_documents_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repository_id", "key", name=op.f("pk_remote_documents")),
    )
    op.create_table(
        "remote_fetches",
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_remote_fetches_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repository_id", "key", name=op.f("pk_remote_fetches")),
    )


def downgrade() -> None:
    op.drop_table("remote_fetches")
    op.drop_table("remote_documents")
