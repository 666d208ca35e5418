"""``PUT /{name}``: a publish (tarball attached) or a metadata update (deprecate, unpublish, tags).

The body streams through the incremental JSON parser; attachments are
base64-decoded as they arrive into scratch files that stay in memory up to
``SPOOL`` bytes and spill to an unnamed temporary file beyond, so memory stays
bounded whatever the tarball's size (and a small publish touches no disk).
Every check runs before anything is stored.

A publish asks the core only about the version numbers its document carries
and the current dist-tags: its cost does not grow with the package's history.
A metadata update carries every version, so it reads the whole package: once
to check the update, and again once the package is locked for the change, so
that a concurrent update is refused (409) rather than overwritten.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from artifortress.plugin import (
    HOSTED,
    BlobRef,
    Conflict,
    Gateway,
    NewFile,
    NotFound,
    RepoInfo,
    error_for_status,
)
from artifortress_npm import provenance, stored
from artifortress_npm.dist_tags import tags_after_publish
from artifortress_npm.errors import NpmError
from artifortress_npm.manifest import (
    PublishRequest,
    check_publish,
    check_tarball_manifest,
    has_attachments,
    new_version,
    publish_candidates,
)
from artifortress_npm.metadata import MetadataChanges, check_metadata_update
from artifortress_npm.names import tarball_filename
from artifortress_npm.protocol import translated
from artifortress_npm.publish_body import PublishBody, parse_publish_body
from artifortress_npm.state import PackageState
from artifortress_npm.tarball import Digests, inspect_tarball, verify_declared
from artifortress_npm.transitions import after_metadata_update

CHUNK = 1024 * 1024
#: Attachments up to this size are kept in memory while the publish is checked.
SPOOL = 1024 * 1024


def put_package(gateway: Gateway, name: str, *, with_rev: bool, limit: int) -> None:
    """Handle ``PUT /{name}`` and ``PUT /{name}/-rev/{rev}`` (declared ``publishes=True``)."""
    repo = gateway.repo
    with contextlib.ExitStack() as scratch:
        body, files = _receive(gateway, scratch, limit)
        if has_attachments(body.document):  # through a virtual: into its hosted member
            _publish(gateway, gateway.upload_target(repo), name, body, files)
            return
    if gateway.principal.publisher is not None:
        # A trusted publisher's token uploads (issue 19); it must not rewrite what is there.
        raise error_for_status(
            "a token minted for a trusted publisher publishes only: deprecate, unpublish "
            "and tag with a person's token",
            403,
        )
    if repo.kind != HOSTED:
        raise error_for_status(
            f"{repo.kind} repository {repo.key!r} holds no packages of its own: deprecate, "
            "unpublish and tag in the hosted repository that holds the package",
            405,
        )
    state = stored.load_state(gateway, repo, name)
    if state is None:
        raise NotFound(f"package {name} not found")
    with translated():
        changes = check_metadata_update(name, body.document, state, allow_unpublish=with_rev)
        if changes.is_empty:
            return
        _lock_unchanged(gateway, repo, name, state)
    apply_changes(gateway, repo, name, state, changes)


def _lock_unchanged(gateway: Gateway, repo: RepoInfo, name: str, state: PackageState) -> None:
    """Hold the package for the update; 409 if it changed since *state* was read.

    The update was checked in a reading transaction; a concurrent update
    committed meanwhile would be overwritten by changes computed without it
    (a tag moved back, a deprecation undone). npm answers a conflict by
    fetching the package again and retrying.
    """
    gateway.lock_package(repo, name)
    if stored.load_state(gateway, repo, name) != state:
        raise NpmError(
            f"{name} changed while this update was checked: fetch it again and retry", 409
        )


def _receive(
    gateway: Gateway, scratch: contextlib.ExitStack, limit: int
) -> tuple[PublishBody, dict[str, IO[bytes]]]:
    """The parsed body and its attachments' bytes, by name (closed when *scratch* is)."""
    files: dict[str, IO[bytes]] = {}

    def sink(attachment: str) -> IO[bytes]:
        spool = tempfile.SpooledTemporaryFile(SPOOL)  # noqa: SIM115 (closed by *scratch*)
        files[attachment] = scratch.enter_context(spool)
        return files[attachment]

    with translated():
        body = parse_publish_body(gateway.request_body(limit), sink)
    return body, files


#: States in which a version number counts as used by npm's rules (403 on reuse).
_USED = frozenset({"published", "tombstoned"})


def _used_numbers(gateway: Gateway, repo: RepoInfo, name: str, body: PublishBody) -> set[str]:
    """Which of the document's version numbers the package ever used (live or unpublished)."""
    asked = publish_candidates(body.document)
    states = gateway.sealed_versions(repo, name, asked)
    return {version for version, state in states.items() if state in _USED}


def _publish(
    gateway: Gateway,
    repo: RepoInfo,
    name: str,
    body: PublishBody,
    files: Mapping[str, IO[bytes]],
) -> None:
    now = datetime.now(UTC)
    # A check only (a reading transaction): concurrent publishes need not wait for it.
    request = _checked_request(gateway, repo, name, body)
    with translated():
        attachment = body.attachments[request.tarball]
        tarball_file = files[request.tarball]
        # Digested while it was decoded: no second pass over the bytes.
        digests = Digests(attachment.size, attachment.sha1, attachment.integrity)
        tarball = inspect_tarball(tarball_file, digests=digests)
        check_tarball_manifest(request, tarball.manifest)
        verify_declared(
            request.manifest.get("dist"),
            tarball.digests,
            declared_length=attachment.declared_length,
        )
        record, normalized = new_version(
            request, tarball, attachment, published=now, npm_user={"name": gateway.principal.name}
        )
    tarball_meta = _verified_provenance(gateway, files, request, tarball.digests)
    filename = tarball_filename(name, request.version)
    tarball_blob = _ingest(gateway, repo, tarball_file)
    new = [NewFile(filename, tarball_blob, "application/octet-stream", tarball_meta)]
    if request.provenance is not None:
        blob = _ingest(gateway, repo, files[request.provenance])
        new.append(
            NewFile(
                filename.removesuffix(".tgz") + ".sigstore",
                blob,
                "application/vnd.dev.sigstore.bundle+json",
                {"role": "provenance"},
            )
        )
    # Labels point at live versions only; a publish only adds tags to the new version.
    wanted = tags_after_publish(gateway.labels(repo, name), request.dist_tags, request.version)
    try:  # labels set in the publish's unit; none while a repository policy holds it back
        gateway.publish(
            repo,
            name,
            request.version,
            new,
            metadata=stored.record_metadata(record, normalized),
            labels=sorted(tag for tag, version in wanted.items() if version == request.version),
        )
    except Conflict:
        # A concurrent publish of this version won the race: refuse as npm
        # refuses any duplicate (403), not with the core's 409.
        _checked_request(gateway, repo, name, body)
        raise


def _verified_provenance(
    gateway: Gateway, files: Mapping[str, IO[bytes]], request: PublishRequest, digests: Digests
) -> dict[str, Any]:
    """The tarball's metadata: the verified provenance bundle's result, if one came.

    A bundle for other bytes, altered, or from another publisher than the
    token's is refused (400) before anything is stored.
    """
    if request.provenance is None:
        return {}
    attachment = files[request.provenance]
    attachment.seek(0)
    bundle = attachment.read(provenance.MAX_BUNDLE + 1)
    with translated():
        provenance.check_size(bundle)
        sha512 = provenance.sha512_hex(digests.integrity)
    result = gateway.verify_attestation(bundle, digests={"sha512": sha512})
    with translated():
        return {"attestation": provenance.checked(result, request.name, request.version)}


def _checked_request(
    gateway: Gateway, repo: RepoInfo, name: str, body: PublishBody
) -> PublishRequest:
    """The publish the document asks for; 403 if its version number was ever used."""
    used = _used_numbers(gateway, repo, name, body)
    with translated():
        return check_publish(name, body.document, used)


def _ingest(gateway: Gateway, repo: RepoInfo, data: IO[bytes]) -> BlobRef:
    data.seek(0)
    return gateway.ingest(repo, _chunks(data))


def _chunks(data: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: data.read(CHUNK), b"")


def apply_changes(
    gateway: Gateway, repo: RepoInfo, name: str, state: PackageState, changes: MetadataChanges
) -> None:
    """Deprecations, unpublished versions (tombstoned) and dist-tags of a metadata update."""
    for version, message in changes.deprecations.items():
        gateway.deprecate(repo, name, version, message)
    for version in sorted(changes.unpublished):
        gateway.delete_version(repo, name, version)
    # Unpublishing moves tags off removed versions (latest falls back to the highest left).
    wanted = after_metadata_update(state, changes, now=datetime.now(UTC)).dist_tags
    sync_tags(gateway, repo, name, current=state.dist_tags, wanted=wanted)


def sync_tags(
    gateway: Gateway,
    repo: RepoInfo,
    name: str,
    *,
    current: Mapping[str, Any],
    wanted: Mapping[str, str],
) -> None:
    """Make the package's labels equal *wanted*, touching only what differs."""
    for tag, version in wanted.items():
        if current.get(tag) != version:
            gateway.set_label(repo, name, tag, version)
    for tag in set(current) - set(wanted):
        gateway.delete_label(repo, name, tag)
