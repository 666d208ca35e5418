"""The legacy upload API (``/legacy/``) that twine, ``uv publish`` and poetry use.

The multipart body streams into a scratch file while it is hashed (memory stays
bounded); then the filename, form and core metadata are checked against each
other and against what the repository already holds, and only then do the
bytes enter the blob store and the version get published (or gain a file).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import falcon

from artifortress.plugin import (
    BadRequest,
    Conflict,
    Gateway,
    NewFile,
    Permission,
    RepoInfo,
    VersionInfo,
    requires,
)
from artifortress.plugin.scratch import scratch_file
from artifortress_pypi import attestations, listings
from artifortress_pypi.digests import DigestingWriter, FileDigests
from artifortress_pypi.filenames import ParsedFilename, parse_filename
from artifortress_pypi.form import UploadForm, validate_upload_form
from artifortress_pypi.metadata import DistributionMetadata, load_distribution_metadata
from artifortress_pypi.multipart import Readable, parse_form
from artifortress_pypi.protocol import translated

CHUNK = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Received:
    """An upload after every check: the file on disk and what it claims to be."""

    path: Path
    parsed: ParsedFilename
    form: UploadForm
    digests: FileDigests
    dist: DistributionMetadata

    @property
    def filename(self) -> str:
        return self.parsed.filename


class UploadResource:
    # publishes: no database lock while the body streams in, and checks that only read.
    @requires(Permission.WRITE, action="version.publish", publishes=True)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Upload one distribution file; identical re-uploads succeed, other bytes are 409."""
        gateway = Gateway(req)
        target = gateway.upload_target(gateway.repo)  # a virtual's: its hosted member
        with scratch_file() as path:  # a killed worker's is removed by the next to start
            received = self._receive(req, path, gateway.request_body(gateway.max_package_upload))
            _store(gateway, target, received)
        resp.status = falcon.HTTP_200
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "OK"

    def _receive(self, req: falcon.Request, path: Path, body: Readable) -> Received:
        with path.open("wb") as out, translated():
            writer = DigestingWriter(out)
            result = parse_form(body, req.content_type, writer.write)
            if not result.filename:
                raise BadRequest("the upload has no file in its 'content' field")
            parsed = parse_filename(result.filename)
            form = validate_upload_form(result.fields, parsed, writer.digests())
        with translated():
            dist = load_distribution_metadata(path, parsed)
        return Received(path, parsed, form, writer.digests(), dist)


def _store(gateway: Gateway, repo: RepoInfo, received: Received) -> None:
    name = received.dist.metadata.normalized_name
    version = str(received.parsed.version)
    # Checks only (reading transactions): concurrent uploads need not wait for them.
    identical = _is_identical_reupload(gateway, repo, name, received)
    exists = identical or _release_exists(gateway, repo, name, version, received)
    if identical:  # twine retries after 5xx, so this must succeed
        if not gateway.is_stored(f"sha256:{received.digests.sha256}"):
            # The stored file was lost: these bytes heal it (its provenance row stands).
            _files(gateway, repo, received, attested=None)
        return
    attested = _verified_attestations(gateway, received)  # before anything is stored
    files = _files(gateway, repo, received, attested)
    try:
        _publish_or_append(gateway, repo, received, files, exists=exists)
    except Conflict:
        # A concurrent upload won the race for this file: the committed winner
        # decides, so the same bytes succeed as a retry does (other bytes: 409).
        if not _is_identical_reupload(gateway, repo, name, received):
            raise


def _publish_or_append(
    gateway: Gateway, repo: RepoInfo, received: Received, files: list[NewFile], *, exists: bool
) -> None:
    name = received.dist.metadata.normalized_name
    version = str(received.parsed.version)
    if not exists:
        try:
            gateway.publish(
                repo,
                name,
                version,
                files,
                display_name=received.dist.metadata.name,
                metadata=dataclasses.asdict(received.dist.metadata),
            )
            return
        except Conflict:
            pass  # another upload created the release meanwhile: add to it
    gateway.append_files(repo, name, version, files)


def _is_identical_reupload(gateway: Gateway, repo: RepoInfo, name: str, received: Received) -> bool:
    """True for the same bytes under the same name; 409/400 for a file name used before.

    One indexed lookup of the name, deleted releases included (names are never
    reused), instead of reading every release of the project.
    """
    release = gateway.version_with_file(repo, name, received.filename, include_deleted=True)
    artifact = release.artifact(received.filename) if release is not None else None
    if release is None or artifact is None:
        return False
    if release.state != "published":
        raise BadRequest(
            f"File already exists: {received.filename} was used by a deleted release; "
            "file names are never reused, upload a new version"
        )
    if artifact.digest == f"sha256:{received.digests.sha256}":
        return True
    raise Conflict(f"File already exists: {received.filename} (with other content)")


def _release_exists(
    gateway: Gateway, repo: RepoInfo, name: str, version: str, received: Received
) -> bool:
    """Whether the release exists (publish or append); 400 for a second sdist.

    A light lookup: the release with its files is read only where an sdist
    needs checking.
    """
    exists = version in gateway.sealed_versions(repo, name, [version])
    if received.parsed.kind == "sdist" and exists:
        current = gateway.version(repo, name, version)
        # This very file may have been committed by a concurrent upload since the caller
        # looked for it: that is a re-upload (decided at append), not a second sdist.
        if current is not None and _has_sdist(current, other_than=received.filename):
            raise BadRequest(f"Only one sdist may be uploaded per release ({name} {version})")
    return exists


def _has_sdist(version: VersionInfo, *, other_than: str) -> bool:
    return any(
        a.metadata.get("filetype") == "sdist" and a.filename != other_than
        for a in version.artifacts
    )


def _verified_attestations(gateway: Gateway, received: Received) -> dict[str, Any] | None:
    """The PEP 740 attestations verified for this file: the result to keep with it, if any.

    A refused attestation (for other bytes, altered, another publisher's) is a
    400 and nothing is stored; an unverifiable one is kept as unverified.
    """
    if received.form.attestations is None:
        return None
    with translated():
        bundles = attestations.sigstore_bundles(received.form.attestations)
    digests = {"sha256": received.digests.sha256}
    results = [gateway.verify_attestation(bundle, digests=digests) for bundle in bundles]
    with translated():
        for result in results:
            attestations.check_statement(result, received.filename)
    return attestations.stored_result(results)


def _files(
    gateway: Gateway, repo: RepoInfo, received: Received, attested: dict[str, Any] | None
) -> list[NewFile]:
    """The distribution plus its companions: core metadata (wheels) and provenance."""
    main_meta: dict[str, Any] = {
        "filetype": received.form.filetype,
        "pyversion": received.form.pyversion,
        "requires_python": received.dist.metadata.requires_python,
        "md5": received.digests.md5,
        "blake2_256": received.digests.blake2_256,
    }
    files: list[NewFile] = []
    if received.parsed.kind == "bdist_wheel":
        # Announced by digest: the wheels of one release usually share their
        # METADATA, and the store then verifies the bytes without writing them.
        raw = received.dist.raw
        digest = f"sha256:{hashlib.sha256(raw).hexdigest()}"
        blob = gateway.ingest(repo, iter([raw]), digest=digest, size=len(raw))
        main_meta["core_metadata_sha256"] = blob.digest.removeprefix("sha256:")
        files.append(
            NewFile(
                received.filename + ".metadata",
                blob,
                "text/plain; charset=utf-8",
                {"role": listings.CORE_METADATA},
            )
        )
    if received.form.attestations is not None and attested is not None:
        main_meta["attestation"] = attested
        provenance = attestations.provenance(received.form.attestations, attested)
        blob = gateway.ingest(repo, iter([provenance]))
        files.append(
            NewFile(
                received.filename + ".provenance",
                blob,
                "application/vnd.pypi.integrity.v1+json",
                {"role": listings.PROVENANCE},
            )
        )
    with received.path.open("rb") as data:
        blob = gateway.ingest(
            repo,
            _chunks(data),
            digest=f"sha256:{received.digests.sha256}",
            size=received.digests.size,
        )
    files.insert(0, NewFile(received.filename, blob, _media_type(received.parsed), main_meta))
    return files


def _chunks(data: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: data.read(CHUNK), b"")


def _media_type(parsed: ParsedFilename) -> str:
    return "application/zip" if parsed.filename.endswith((".whl", ".zip")) else "application/gzip"
