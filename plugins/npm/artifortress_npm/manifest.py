"""Checks of publish documents against the stored package, and the version to store.

A publish (``PUT /{name}`` with attachments) must add exactly one new version whose
``.tgz`` attachment is ``<name>-<version>.tgz``; after libnpmpublish's 409 retry the
document also carries every current version, which is ignored. A ``PUT`` without
attachments is a metadata update, checked by :mod:`artifortress_npm.metadata`.

The flow: ``check_publish`` on the parsed body, ``tarball.inspect_tarball`` on the stored
attachment, ``check_tarball_manifest``, ``tarball.verify_declared`` on the client's
``dist`` and ``length``, then ``new_version`` builds the record to store.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from artifortress_npm.errors import NpmError
from artifortress_npm.names import validate_name
from artifortress_npm.publish_body import PROVENANCE_SUFFIX, TARBALL_SUFFIX
from artifortress_npm.state import VersionRecord
from artifortress_npm.tarball import HasDigests, TarballInfo
from artifortress_npm.versions import clean_version, validate_tag, validate_version

# Set by the server, never taken from a client's version manifest.
SERVER_KEYS = frozenset(
    {
        "_id",
        "_rev",
        "dist",
        "_resolved",
        "_integrity",
        "_from",
        "_shasum",
        "_attachments",
        "_hasShrinkwrap",
        "hasInstallScript",
        "deprecated",
        "readme",
        "readmeFilename",
        "_npmUser",
        "maintainers",
        "_contentLength",
        "_cached",
    }
)
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")


@dataclass(frozen=True)
class PublishRequest:
    """A publish document that passed the checks, reduced to what the server uses."""

    name: str
    version: str
    manifest: dict[str, Any]
    tarball: str
    provenance: str | None
    dist_tags: dict[str, str]
    access: str | None


def has_attachments(document: Mapping[str, Any]) -> bool:
    """Tell a publish (non-empty ``_attachments``) from a metadata update."""
    return bool(document.get("_attachments"))


def publish_candidates(document: Mapping[str, Any]) -> list[str]:
    """The version numbers a publish document carries (what ``check_publish`` asks about)."""
    versions = document.get("versions")
    return [v for v in versions if isinstance(v, str)] if isinstance(versions, dict) else []


def check_publish(
    url_name: str, document: Mapping[str, Any], used: Collection[str]
) -> PublishRequest:
    """Validate a publish document; *used*: which of its version numbers were ever used.

    Only the document's numbers matter (``publish_candidates``), so the caller
    need not read the package's whole history: ``PackageState.all_version_numbers``
    or a lookup of just those numbers will do.

    Raises 403 for a version number already used (live or unpublished) and 400 for
    everything else that is wrong.
    """
    name = check_document_name(url_name, document)
    tarball, provenance = _split_attachments(document.get("_attachments"))
    versions = document.get("versions")
    if not isinstance(versions, dict) or not versions:
        raise NpmError("publish document has no versions")
    version = next((v for v in versions if f"{name}-{v}{TARBALL_SUFFIX}" == tarball), None)
    if version is None:
        raise NpmError(f"attachment {tarball!r} does not match any version in the document")
    if version in used:
        raise NpmError(f"cannot publish over the previously published versions: {version}.", 403)
    new_versions = sorted(v for v in versions if v not in used)
    if new_versions != [version]:
        raise NpmError(f"a publish must add exactly one version, got {', '.join(new_versions)}")
    validate_version(version)
    if provenance is not None and provenance != f"{name}-{version}{PROVENANCE_SUFFIX}":
        raise NpmError(f"provenance attachment {provenance!r} does not match {name}@{version}")
    manifest = versions[version]
    if not isinstance(manifest, dict):
        raise NpmError(f"versions[{version!r}] must be an object")
    if manifest.get("name") != name or manifest.get("version") != version:
        raise NpmError(f"versions[{version!r}] must have name {name!r} and version {version!r}")
    access = document.get("access")
    return PublishRequest(
        name=name,
        version=version,
        manifest=manifest,
        tarball=tarball,
        provenance=provenance,
        dist_tags=_tags_for(document.get("dist-tags"), version),
        access=access if isinstance(access, str) else None,
    )


def check_document_name(url_name: str, document: Mapping[str, Any]) -> str:
    name = validate_name(url_name)
    if document.get("name") != name:
        raise NpmError(f"document name {document.get('name')!r} does not match URL name {name!r}")
    if "_id" in document and document["_id"] != name:
        raise NpmError(f"document _id {document['_id']!r} does not match URL name {name!r}")
    return name


def _split_attachments(attachments: object) -> tuple[str, str | None]:
    if not isinstance(attachments, dict) or not attachments:
        raise NpmError("publish document has no attachments")
    tarballs = [a for a in attachments if a.endswith(TARBALL_SUFFIX)]
    provenance = [a for a in attachments if a.endswith(PROVENANCE_SUFFIX)]
    if len(tarballs) != 1 or len(provenance) > 1 or len(attachments) != 1 + len(provenance):
        raise NpmError("a publish needs exactly one .tgz attachment and at most one .sigstore")
    return tarballs[0], provenance[0] if provenance else None


def _tags_for(dist_tags: object, version: str) -> dict[str, str]:
    """Return the document's tags that point at the new version (``latest`` if none)."""
    if dist_tags is None:
        dist_tags = {}
    if not isinstance(dist_tags, dict):
        raise NpmError("dist-tags must be an object")
    tags = {validate_tag(tag): v for tag, v in dist_tags.items() if v == version}
    return tags or {"latest": version}


def check_tarball_manifest(request: PublishRequest, tarball_manifest: Mapping[str, Any]) -> None:
    """Check the tarball's own package.json names the same package and version."""
    if tarball_manifest.get("name") != request.name:
        raise NpmError(
            f"package.json in the tarball names {tarball_manifest.get('name')!r}, "
            f"not {request.name!r}"
        )
    if clean_version(tarball_manifest.get("version")) != request.version:
        raise NpmError(
            f"package.json in the tarball has version {tarball_manifest.get('version')!r}, "
            f"not {request.version!r}"
        )


@dataclass(frozen=True)
class NormalizedVersion:
    """A version manifest ready to store, and the readme taken out of it."""

    manifest: dict[str, Any]
    readme: str
    readme_filename: str
    has_install_script: bool


def normalize_version_manifest(
    request: PublishRequest,
    *,
    npm_user: Mapping[str, str] | None = None,
    has_binding_gyp: bool = False,
) -> NormalizedVersion:
    """Strip what the server recomputes (``dist``, ``_id`` ...) and move the readme out.

    ``npm_user`` (``{"name": ..., "email": ...}``) becomes ``_npmUser``. The readme is
    kept apart because only the latest version's readme is served, at the top level.
    """
    manifest = {k: v for k, v in request.manifest.items() if k not in SERVER_KEYS}
    manifest["name"], manifest["version"] = request.name, request.version
    if npm_user is not None:
        manifest["_npmUser"] = dict(npm_user)
    readme = request.manifest.get("readme")
    readme_filename = request.manifest.get("readmeFilename")
    return NormalizedVersion(
        manifest=manifest,
        readme=readme if isinstance(readme, str) else "",
        readme_filename=readme_filename if isinstance(readme_filename, str) else "",
        has_install_script=has_install_script(manifest, has_binding_gyp=has_binding_gyp),
    )


def has_install_script(manifest: Mapping[str, Any], *, has_binding_gyp: bool = False) -> bool:
    """Tell whether installing runs a script: install hooks, or node-gyp for binding.gyp."""
    scripts = manifest.get("scripts")
    if isinstance(scripts, dict) and any(scripts.get(s) for s in _INSTALL_SCRIPTS):
        return True
    return has_binding_gyp and manifest.get("gypfile") is not False


def new_version(
    request: PublishRequest,
    tarball: TarballInfo,
    digests: HasDigests,
    *,
    published: datetime,
    npm_user: Mapping[str, str] | None = None,
) -> tuple[VersionRecord, NormalizedVersion]:
    """Build the record of a checked publish; the normalized form carries the readme."""
    normalized = normalize_version_manifest(
        request, npm_user=npm_user, has_binding_gyp=tarball.has_binding_gyp
    )
    record = VersionRecord(
        version=request.version,
        manifest=normalized.manifest,
        shasum=digests.sha1,
        integrity=digests.integrity,
        published=published,
        file_count=tarball.file_count,
        unpacked_size=tarball.unpacked_size,
        has_shrinkwrap=tarball.has_shrinkwrap,
        has_install_script=normalized.has_install_script,
    )
    return record, normalized
