"""Drafts and publication: the only way a version comes into existence.

A draft collects artifact entries that reference committed blobs of its
repository; ``publish`` seals it in the caller's transaction.  Two drafts of
the same version may exist at once (two CI jobs racing); the partial unique
index on sealed versions lets exactly one publish win, the other gets 409.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pluggy
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller
from artifortress.blobs.models import Blob, RepoBlob
from artifortress.db.base import utcnow
from artifortress.errors import BadRequest, Conflict, NotFound
from artifortress.outbox.events import VERSION_FILES_ADDED, VERSION_PUBLISHED
from artifortress.policy import services as policy
from artifortress.repos.kinds import refuse_storage
from artifortress.repos.models import Repository
from artifortress.versions.labels import set_label
from artifortress.versions.models import DRAFT, PUBLISHED, QUARANTINED, Artifact, Package, Version
from artifortress.versions.validation import check_filename, check_version, clean_name


@dataclasses.dataclass(frozen=True)
class ArtifactInput:
    """An artifact entry to add: a file name bound to a committed blob."""

    filename: str
    digest: str
    size: int | None = None
    media_type: str = "application/octet-stream"
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


def get_or_create_package(
    db: Session, repo: Repository, name: str, display_name: str | None = None
) -> Package:
    """The package *name* (already normalized) of *repo*, created if missing."""
    found = _find_package(db, repo.id, name)
    return found if found is not None else _create_package(db, repo, name, display_name)


def _create_package(db: Session, repo: Repository, name: str, display_name: str | None) -> Package:
    package = Package(
        repository_id=repo.id, format=repo.format, name=name, display_name=display_name or name
    )
    try:
        with db.begin_nested():
            db.add(package)
    except IntegrityError:  # created concurrently by another publisher
        found = _find_package(db, repo.id, name)
        assert found is not None
        return found
    return package


#: The statements of every publish, built once (building one costs about what running it does);
#: those that load no entity run on the connection, which costs half of the ORM's path.
_PACKAGE = select(Package).where(
    Package.repository_id == bindparam("repository_id"), Package.name == bindparam("name")
)
_SEALED_ID = select(Version.id).where(
    Version.package_id == bindparam("package_id"),
    Version.version == bindparam("version"),
    Version.state != DRAFT,
)
_HELD_BLOBS = (
    select(Blob.digest, Blob.size)
    .join(RepoBlob, RepoBlob.digest == Blob.digest)
    .where(
        RepoBlob.repository_id == bindparam("repository_id"),
        Blob.digest.in_(bindparam("digests", expanding=True)),
        Blob.condemned_at.is_(None),
        Blob.collected_at.is_(None),
    )
    .with_for_update(read=True, of=Blob)
)


def _find_package(db: Session, repository_id: int, name: str) -> Package | None:
    return db.scalars(_PACKAGE, {"repository_id": repository_id, "name": name}).one_or_none()


def create_draft(
    db: Session,
    caller: Caller,
    repo: Repository,
    *,
    package: str,
    version: str,
    ttl_seconds: float,
    display_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    files: Sequence[ArtifactInput] = (),
) -> Version:
    """Open a draft of *package* (normalized name) at *version* in *repo*; audited.

    *files* are added to it at once (checked as :func:`add_artifacts` checks
    them): one flush writes the draft and its files, for a publish made in one
    request. A virtual repository stores nothing: 405.
    """
    refuse_storage(repo.kind, repo.key)
    package = clean_name(package)
    display_name = None if display_name is None else clean_name(display_name)
    check_version(version)
    pkg = _find_package(db, repo.id, package)
    if pkg is not None and _is_sealed(db, pkg, version):
        raise Conflict(f"{package} {version} already exists in {repo.key}; versions are immutable")
    if pkg is None:  # so no version of it can exist either
        pkg = _create_package(db, repo, package, display_name)
    draft = _unsaved_draft(db, caller, repo, pkg, version, metadata, files)
    draft.expires_at = utcnow() + dt.timedelta(seconds=ttl_seconds)
    db.add(draft)
    changes.of(db).audit(caller, "draft.create", repo_key=repo.key, target=f"{package}@{version}")
    db.flush()
    return draft


def _unsaved_draft(
    db: Session,
    caller: Caller,
    repo: Repository,
    package: Package,
    version: str,
    metadata: dict[str, Any] | None,
    files: Sequence[ArtifactInput],
) -> Version:
    """A draft of *package* at *version* with *files* (checked), not yet in the session."""
    draft = Version(
        package=package,
        repository_id=repo.id,
        version=version,
        state=DRAFT,
        metadata_=metadata or {},
        created_by=caller.principal.name,
        artifacts=[],  # known empty: adding files needs no query to load them
    )
    if files:  # the draft is not in the session yet: these queries do not flush it
        _checked_names(draft, files)
        blobs = _held_blobs(db, repo.id, {entry.digest for entry in files})
        draft.artifacts.extend(_artifact(entry, blobs) for entry in files)
    return draft


def _is_sealed(db: Session, package: Package, version: str) -> bool:
    params = {"package_id": package.id, "version": version}
    return db.connection().execute(_SEALED_ID, params).first() is not None


def get_draft(db: Session, repo: Repository, draft_id: int) -> Version:
    draft = db.get(Version, draft_id)
    if draft is None or draft.repository_id != repo.id or draft.state != DRAFT:
        raise NotFound(f"no open draft {draft_id} in {repo.key}")
    if draft.expires_at is not None and draft.expires_at <= utcnow():
        raise NotFound(f"draft {draft_id} has expired; create a new one")
    return draft


def add_artifact(
    db: Session,
    caller: Caller,
    version: Version,
    entry: ArtifactInput,
    plugins: pluggy.PluginManager | None = None,
) -> Artifact:
    """Add one file to a draft or a published version (see :func:`add_artifacts`)."""
    return add_artifacts(db, caller, version, [entry], plugins)[0]


def add_artifacts(
    db: Session,
    caller: Caller,
    version: Version,
    entries: Sequence[ArtifactInput],
    plugins: pluggy.PluginManager | None = None,
) -> list[Artifact]:
    """Add files to a draft, or append them to a published version (formats that allow it).

    All of them or none. Each blob must be committed and held by the version's
    repository: a digest alone never lets anyone publish (and so expose) bytes
    they could not read. Files appended to a published version pass the
    repository's policies first, and are one change and one event. Audited
    (``draft.add_file``, or ``version.add_files`` for a published version).
    """
    names = _checked_names(version, entries)
    blobs = _held_blobs(db, version.repository_id, {e.digest for e in entries})
    artifacts = [_artifact(entry, blobs) for entry in entries]
    db.flush()
    try:
        with db.begin_nested():
            version.artifacts.extend(artifacts)
            db.flush()
    except IntegrityError:
        raise Conflict(f"{_files_phrase(names)} already exists in this version") from None
    if version.state == PUBLISHED:  # appended to a live version: clients must see it
        policy.check_append(db, version, plugins, names)
        _files_added(db, caller, version, names)
    else:
        _audit_files(db, caller, "draft.add_file", version, names)
    return artifacts


def _files_added(db: Session, caller: Caller, version: Version, names: list[str]) -> None:
    """The traces of files appended to a live version: clients must see them."""
    repo = _repo_of(db, version)
    changes.of(db).version_event(VERSION_FILES_ADDED, version, repo, caller, files=names)
    _audit_files(db, caller, "version.add_files", version, names)


def _audit_files(
    db: Session, caller: Caller, action: str, version: Version, names: list[str]
) -> None:
    target = f"{version.package.name}@{version.version}"
    repo_key = _repo_of(db, version).key
    changes.of(db).audit(caller, action, repo_key=repo_key, target=target, files=names)


def _repo_of(db: Session, version: Version) -> Repository:
    repo = db.get(Repository, version.repository_id)
    assert repo is not None, f"the repository of version {version.id} vanished"
    return repo


def _checked_names(version: Version, entries: Sequence[ArtifactInput]) -> list[str]:
    """The new files' names: valid, and new to the version and to each other."""
    names = [entry.filename for entry in entries]
    for name in names:
        check_filename(name)
    taken = {a.filename for a in version.artifacts}
    for index, name in enumerate(names):
        if name in taken or name in names[:index]:
            raise Conflict(f"file {name!r} already exists in this version")
    clash = _file_folder_clash(taken, names)
    if clash is not None:
        file, inside = clash
        raise Conflict(
            f"file {file!r} and folder '{file}/' (holding {inside!r}) cannot both exist in "
            "one version: a path names a file or a folder, not both"
        )
    return names


def _file_folder_clash(taken: set[str], names: list[str]) -> tuple[str, str] | None:
    """A file named as a folder of another file (``a`` and ``a/b``), one of them new.

    As paths (the generic format, any client that unpacks a version) they
    cannot both exist; clashes among old files alone are left as they are.
    """
    files = taken | set(names)
    inside_folder = {folder: name for name in files for folder in _folders(name)}
    for name in names:
        if name in inside_folder:  # the new file is a folder of another file
            return name, inside_folder[name]
        for folder in _folders(name):  # a folder of the new file is a file
            if folder in files:
                return folder, name
    return None


def _folders(filename: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]``."""
    parts = filename.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


def _files_phrase(names: list[str]) -> str:
    return f"file {names[0]!r}" if len(names) == 1 else f"one of the files {names!r}"


def _artifact(entry: ArtifactInput, sizes: dict[str, int]) -> Artifact:
    size = sizes.get(entry.digest)
    if size is None:
        raise BadRequest(
            f"blob {entry.digest} is not committed in this repository; upload it first"
        )
    if entry.size is not None and entry.size != size:
        raise BadRequest(f"size {entry.size} does not match blob {entry.digest} ({size} bytes)")
    return Artifact(
        filename=entry.filename,
        digest=entry.digest,
        size=size,
        media_type=entry.media_type,
        metadata_=entry.metadata,
    )


def _held_blobs(db: Session, repository_id: int, digests: set[str]) -> dict[str, int]:
    """The sizes of those blobs committed in this repository and not being collected.

    The shared row locks keep garbage collection from condemning them until
    this transaction (and its new references) commits.
    """
    params = {"repository_id": repository_id, "digests": sorted(digests)}
    return {digest: size for digest, size in db.connection().execute(_HELD_BLOBS, params)}


def remove_artifact(db: Session, caller: Caller, version: Version, filename: str) -> None:
    """Drop a file from a draft (published files cannot be removed); audited."""
    if version.state != DRAFT:
        raise Conflict("files of a published version cannot be removed")
    for artifact in version.artifacts:
        if artifact.filename == filename:
            version.artifacts.remove(artifact)  # delete-orphan removes the row
            _audit_files(db, caller, "draft.remove_file", version, [filename])
            return
    raise NotFound(f"no file {filename!r} in this draft")


def publish(
    db: Session,
    caller: Caller,
    repo: Repository,
    draft: Version,
    plugins: pluggy.PluginManager | None = None,
    labels: Sequence[str] = (),
) -> Version:
    """Seal a draft: all of it becomes visible at commit, or none of it.

    The repository's policies judge it first (*plugins*: the app's plugin
    manager; without it only the built-in policies run): a reject raises
    ``PolicyRejected``, a quarantine seals it as ``quarantined`` instead.
    *labels* (npm dist-tags) then point at the version; a quarantined one
    gets them when it is released.
    """
    if draft.state != DRAFT:
        raise Conflict("this version is already published")
    if not draft.artifacts:
        raise BadRequest("a version needs at least one file before it can be published")
    verdict = policy.evaluate(db, repo, draft, plugins)
    name = f"{draft.package.name} {draft.version}"
    db.flush()  # begin_nested() flushes first; pending work must not fail inside it
    try:
        # The partial unique index on sealed versions decides the race: on
        # PostgreSQL a concurrent publisher waits here for the winner's commit.
        with db.begin_nested():
            draft.state = QUARANTINED if policy.is_quarantined(verdict) else PUBLISHED
            draft.published_at = utcnow()
            draft.published_by = caller.principal.name
            draft.expires_at = None
            db.flush()
    except IntegrityError:
        raise Conflict(f"{name} already exists in {repo.key}; versions are immutable") from None
    if draft.state == QUARANTINED:
        policy.quarantine(db, caller, repo, draft, verdict, labels)
    else:
        _published(db, caller, repo, draft, labels)
    return draft


def publish_new(
    db: Session,
    caller: Caller,
    repo: Repository,
    *,
    package: str,
    version: str,
    files: Sequence[ArtifactInput],
    plugins: pluggy.PluginManager | None = None,
    display_name: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Version:
    """Publish a new *version* of *package* with *files* in one step, judged as :func:`publish`.

    For a version that needs no draft of its own (a file a remote repository
    fetched): no ``draft.create`` row, and the package, version and files
    are written by one flush, without savepoints. So a concurrent publish of
    the same version (or creation of the package) fails that flush: then the
    caller's transaction is lost, Conflict raised, and the caller retries
    in a new one (where the version or package exists).
    """
    refuse_storage(repo.kind, repo.key)
    name = clean_name(package)
    check_version(version)
    pkg = _find_package(db, repo.id, name)
    if pkg is None:  # added with the version, by the same flush
        shown = clean_name(display_name) if display_name is not None else name
        pkg = Package(repository_id=repo.id, format=repo.format, name=name, display_name=shown)
    elif _is_sealed(db, pkg, version):
        raise Conflict(f"{name} {version} already exists in {repo.key}; versions are immutable")
    new = _unsaved_draft(db, caller, repo, pkg, version, metadata, files)
    # Judged while the version is outside the session: the policies' queries do not flush it.
    verdict = policy.evaluate(db, repo, new, plugins)
    held = policy.is_quarantined(verdict)
    # A held version takes its files as a draft: the database refuses files of a held one.
    new.state = DRAFT if held else PUBLISHED
    new.published_at, new.published_by = utcnow(), caller.principal.name
    raced = Conflict(f"{name} {version} was published concurrently in {repo.key}")
    db.add(new)
    try:
        db.flush()
        if held:
            new.state = QUARANTINED
            db.flush()
    except IntegrityError:  # the session rolled back: its objects are expired, read nothing
        raise raced from None
    if held:
        policy.quarantine(db, caller, repo, new, verdict)
    else:
        _published(db, caller, repo, new, ())
    return new


def _published(
    db: Session, caller: Caller, repo: Repository, draft: Version, labels: Sequence[str]
) -> None:
    """The traces of a publish; its *labels* are one more change to the same package."""
    files = [a.filename for a in draft.artifacts]
    change = changes.of(db)
    target = f"{draft.package.name}@{draft.version}"
    change.audit(caller, "version.publish", repo_key=repo.key, target=target, files=files)
    change.version_event(VERSION_PUBLISHED, draft, repo, caller)
    for label in labels:
        set_label(db, caller, draft, label)


def discard_draft(db: Session, caller: Caller, repo: Repository, draft: Version) -> None:
    db.delete(draft)  # its artifact entries go with it (delete-orphan)
    changes.of(db).audit(
        caller,
        "draft.discard",
        repo_key=repo.key,
        target=f"{draft.package.name}@{draft.version}",
    )
