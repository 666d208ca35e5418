"""event plane: outbox, search projection (tsvector/GIN or FTS5), policies, quarantine, webhooks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import BigId, JsonDoc, UtcDateTime
from artifortress.search import schema as search_schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# --- quarantined and rejected versions take no new files (they are sealed like published) ---

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER af_artifacts_held_insert BEFORE INSERT ON artifacts
    WHEN (SELECT state FROM versions WHERE id = NEW.version_id) IN ('quarantined', 'rejected')
    BEGIN SELECT RAISE(ABORT, 'artifortress: a quarantined or rejected version takes no new files'); END
    """,
]
SQLITE_TRIGGER_NAMES = ["af_artifacts_held_insert"]

POSTGRES_FUNCTION = """
CREATE FUNCTION af_artifacts_held_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT state FROM versions WHERE id = NEW.version_id) IN ('quarantined', 'rejected') THEN
        PERFORM af_refuse('a quarantined or rejected version takes no new files');
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER af_artifacts_held_guard BEFORE INSERT ON artifacts
    FOR EACH ROW EXECUTE FUNCTION af_artifacts_held_guard();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS af_artifacts_held_guard ON artifacts;
DROP FUNCTION IF EXISTS af_artifacts_held_guard();
"""


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("repo_key", sa.String(length=64), nullable=True),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=True),
        sa.Column("completed", JsonDoc, nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_outbox_events_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_events_state_available_at", ["state", "available_at"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_events_tenant_id_state", ["tenant_id", "state"], unique=False
        )

    op.create_table(
        "search_documents",
        sa.Column("package_id", BigId, autoincrement=False, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.Column("indexed_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_search_documents_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_search_documents")),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_documents_repository_id", ["repository_id"], unique=False)
    search_schema.create_fulltext(op.get_bind())

    op.create_table(
        "repository_policies",
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("config", JsonDoc, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_repository_policies_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repository_id", name=op.f("pk_repository_policies")),
    )

    op.create_table(
        "quarantine_entries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("version_id", BigId, nullable=False),
        sa.Column("reasons", JsonDoc, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_quarantine_entries_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_quarantine_entries_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_quarantine_entries_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_entries")),
        sa.UniqueConstraint("version_id", name=op.f("uq_quarantine_entries_version_id")),
    )
    with op.batch_alter_table("quarantine_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quarantine_entries_tenant_id_state", ["tenant_id", "state"], unique=False
        )

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("events", JsonDoc, nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_webhook_subscriptions_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_subscriptions_repository_id"), ["repository_id"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", BigId, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_webhook_deliveries_delivery_id")),
        sa.UniqueConstraint(
            "subscription_id",
            "event_id",
            name=op.f("uq_webhook_deliveries_subscription_id_event_id"),
        ),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_state_next_attempt_at",
            ["state", "next_attempt_at"],
            unique=False,
        )

    if _postgres():
        op.execute(POSTGRES_FUNCTION)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if _postgres():
        op.execute(POSTGRES_DROP)
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_state_next_attempt_at")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscriptions_repository_id"))
    op.drop_table("webhook_subscriptions")
    with op.batch_alter_table("quarantine_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_entries_tenant_id_state")
    op.drop_table("quarantine_entries")
    op.drop_table("repository_policies")

    search_schema.drop_fulltext(op.get_bind())
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_repository_id")
    op.drop_table("search_documents")

    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_tenant_id_state")
        batch_op.drop_index("ix_outbox_events_state_available_at")
    op.drop_table("outbox_events")
