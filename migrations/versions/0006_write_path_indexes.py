"""indexes for the write path: file names, and versions by (package, version)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

An upload asks "was this file name ever used in the project?" and "does this
version exist?". Without these indexes both read every version of the package
(the partial unique index on sealed versions serves only queries that repeat
its WHERE), so each upload into a long-lived package cost more than the one
before it. ``ix_versions_package_id`` is a prefix of the new composite index.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_artifacts_filename"), "artifacts", ["filename"], unique=False)
    op.create_index(
        "ix_versions_package_id_version", "versions", ["package_id", "version"], unique=False
    )
    op.drop_index(op.f("ix_versions_package_id"), table_name="versions")


def downgrade() -> None:
    op.create_index(op.f("ix_versions_package_id"), "versions", ["package_id"], unique=False)
    op.drop_index("ix_versions_package_id_version", table_name="versions")
    op.drop_index(op.f("ix_artifacts_filename"), table_name="artifacts")
