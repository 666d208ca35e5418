"""quarantine entries keep the labels their publish asked for

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

A quarantined npm publish asked for dist-tags (``latest``...); they are set
when the version is released, so it ends as if it had never been held.
Entries held before this revision have none (NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import JsonDoc

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", JsonDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine_entries", schema=None) as batch_op:
        batch_op.drop_column("labels")
