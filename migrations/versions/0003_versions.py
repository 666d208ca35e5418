"""version model: packages, versions, artifacts, labels; immutability triggers; blob GC marks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from artifortress.db.base import BigId, JsonDoc, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# --- immutability triggers: the database refuses to change what was published ---

_SEALED = "state <> 'draft'"

SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER af_versions_no_delete BEFORE DELETE ON versions
    WHEN OLD.{_SEALED}
    BEGIN SELECT RAISE(ABORT, 'artifortress: a published version cannot be deleted; tombstone it'); END
    """,
    f"""
    CREATE TRIGGER af_versions_identity BEFORE UPDATE ON versions
    WHEN OLD.{_SEALED} AND (
        NEW.package_id IS NOT OLD.package_id OR NEW.repository_id IS NOT OLD.repository_id
        OR NEW.version IS NOT OLD.version OR NEW.metadata IS NOT OLD.metadata
        OR NEW.published_at IS NOT OLD.published_at OR NEW.published_by IS NOT OLD.published_by
        OR NEW.created_by IS NOT OLD.created_by OR NEW.promoted_from IS NOT OLD.promoted_from
        OR NEW.state = 'draft'
    )
    BEGIN SELECT RAISE(ABORT, 'artifortress: a published version is immutable (only status flags, labels and the tombstone may change)'); END
    """,
    """
    CREATE TRIGGER af_artifacts_sealed_update BEFORE UPDATE ON artifacts
    WHEN (SELECT state FROM versions WHERE id = OLD.version_id) <> 'draft'
      OR (SELECT state FROM versions WHERE id = NEW.version_id) <> 'draft'
    BEGIN SELECT RAISE(ABORT, 'artifortress: files of a published version are immutable'); END
    """,
    """
    CREATE TRIGGER af_artifacts_sealed_delete BEFORE DELETE ON artifacts
    WHEN (SELECT state FROM versions WHERE id = OLD.version_id) <> 'draft'
    BEGIN SELECT RAISE(ABORT, 'artifortress: files of a published version cannot be deleted'); END
    """,
    """
    CREATE TRIGGER af_artifacts_tombstoned_insert BEFORE INSERT ON artifacts
    WHEN (SELECT state FROM versions WHERE id = NEW.version_id) = 'tombstoned'
    BEGIN SELECT RAISE(ABORT, 'artifortress: a deleted version takes no new files'); END
    """,
    """
    CREATE TRIGGER af_packages_identity BEFORE UPDATE ON packages
    WHEN (NEW.name IS NOT OLD.name OR NEW.repository_id IS NOT OLD.repository_id
          OR NEW.format IS NOT OLD.format)
      AND EXISTS (SELECT 1 FROM versions WHERE package_id = OLD.id AND state <> 'draft')
    BEGIN SELECT RAISE(ABORT, 'artifortress: a package with published versions cannot be renamed or moved'); END
    """,
]

POSTGRES_FUNCTION = """
CREATE FUNCTION af_refuse(message text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'artifortress: ' || message, ERRCODE = 'restrict_violation';
END $$;

CREATE FUNCTION af_versions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state <> 'draft' THEN
        IF TG_OP = 'DELETE' THEN
            PERFORM af_refuse('a published version cannot be deleted; tombstone it');
        ELSIF (NEW.package_id, NEW.repository_id, NEW.version, NEW.published_at, NEW.published_by,
               NEW.created_by, NEW.promoted_from)
              IS DISTINCT FROM
              (OLD.package_id, OLD.repository_id, OLD.version, OLD.published_at, OLD.published_by,
               OLD.created_by, OLD.promoted_from)
           OR NEW.metadata IS DISTINCT FROM OLD.metadata
           OR NEW.state = 'draft' THEN
            PERFORM af_refuse('a published version is immutable (only status flags, labels and the tombstone may change)');
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE FUNCTION af_artifacts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_state text;
    new_state text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT state INTO old_state FROM versions WHERE id = OLD.version_id;
        IF old_state <> 'draft' THEN
            PERFORM af_refuse('files of a published version are immutable');
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        SELECT state INTO new_state FROM versions WHERE id = NEW.version_id;
        IF (TG_OP = 'UPDATE' AND new_state <> 'draft') OR new_state = 'tombstoned' THEN
            PERFORM af_refuse('files of a published or deleted version are immutable');
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE FUNCTION af_packages_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.repository_id, NEW.format) IS DISTINCT FROM (OLD.name, OLD.repository_id, OLD.format)
       AND EXISTS (SELECT 1 FROM versions WHERE package_id = OLD.id AND state <> 'draft') THEN
        PERFORM af_refuse('a package with published versions cannot be renamed or moved');
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER af_versions_guard BEFORE UPDATE OR DELETE ON versions
    FOR EACH ROW EXECUTE FUNCTION af_versions_guard();
CREATE TRIGGER af_artifacts_guard BEFORE INSERT OR UPDATE OR DELETE ON artifacts
    FOR EACH ROW EXECUTE FUNCTION af_artifacts_guard();
CREATE TRIGGER af_packages_guard BEFORE UPDATE ON packages
    FOR EACH ROW EXECUTE FUNCTION af_packages_guard();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS af_packages_guard ON packages;
DROP TRIGGER IF EXISTS af_artifacts_guard ON artifacts;
DROP TRIGGER IF EXISTS af_versions_guard ON versions;
DROP FUNCTION IF EXISTS af_packages_guard();
DROP FUNCTION IF EXISTS af_artifacts_guard();
DROP FUNCTION IF EXISTS af_versions_guard();
DROP FUNCTION IF EXISTS af_refuse(text);
"""

SQLITE_TRIGGER_NAMES = [
    "af_versions_no_delete",
    "af_versions_identity",
    "af_artifacts_sealed_update",
    "af_artifacts_sealed_delete",
    "af_artifacts_tombstoned_insert",
    "af_packages_identity",
]


def create_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def drop_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(POSTGRES_DROP)
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    op.create_table(
        "packages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_packages_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("repository_id", "name", name=op.f("uq_packages_repository_id_name")),
    )
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_packages_repository_id"), ["repository_id"], unique=False
        )

    op.create_table(
        "versions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("package_id", BigId, nullable=False),
        sa.Column("repository_id", BigId, nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("metadata", JsonDoc, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.Column("yanked", sa.Boolean(), nullable=False),
        sa.Column("yank_reason", sa.Text(), nullable=True),
        sa.Column("deprecated", sa.Text(), nullable=True),
        sa.Column("tombstoned_at", UtcDateTime(), nullable=True),
        sa.Column("tombstoned_by", sa.String(length=64), nullable=True),
        sa.Column("purged_at", UtcDateTime(), nullable=True),
        sa.Column("promoted_from", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"], ["packages.id"], name=op.f("fk_versions_package_id_packages")
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_versions_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
    )
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_versions_package_id"), ["package_id"], unique=False)
        batch_op.create_index(
            "ix_versions_repository_id_state", ["repository_id", "state"], unique=False
        )
        batch_op.create_index(
            "uq_versions_sealed_identity",
            ["package_id", "version"],
            unique=True,
            sqlite_where=sa.text("state != 'draft'"),
            postgresql_where=sa.text("state != 'draft'"),
        )

    op.create_table(
        "artifacts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("version_id", BigId, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=255), nullable=False),
        sa.Column("metadata", JsonDoc, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"], ["blobs.digest"], name=op.f("fk_artifacts_digest_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_artifacts_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
        sa.UniqueConstraint(
            "version_id", "filename", name=op.f("uq_artifacts_version_id_filename")
        ),
    )
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifacts_digest"), ["digest"], unique=False)
        batch_op.create_index(batch_op.f("ix_artifacts_version_id"), ["version_id"], unique=False)

    op.create_table(
        "labels",
        sa.Column("id", BigId, nullable=False),
        sa.Column("package_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version_id", BigId, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"], ["packages.id"], name=op.f("fk_labels_package_id_packages")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_labels_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("package_id", "name", name=op.f("uq_labels_package_id_name")),
    )
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labels_package_id"), ["package_id"], unique=False)

    with op.batch_alter_table("blobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("condemned_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("collected_at", UtcDateTime(), nullable=True))

    create_triggers()


def downgrade() -> None:
    drop_triggers()
    with op.batch_alter_table("blobs", schema=None) as batch_op:
        batch_op.drop_column("collected_at")
        batch_op.drop_column("condemned_at")

    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labels_package_id"))

    op.drop_table("labels")
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifacts_version_id"))
        batch_op.drop_index(batch_op.f("ix_artifacts_digest"))

    op.drop_table("artifacts")
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_versions_sealed_identity",
            sqlite_where=sa.text("state != 'draft'"),
            postgresql_where=sa.text("state != 'draft'"),
        )
        batch_op.drop_index("ix_versions_repository_id_state")
        batch_op.drop_index(batch_op.f("ix_versions_package_id"))

    op.drop_table("versions")
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_packages_repository_id"))

    op.drop_table("packages")
