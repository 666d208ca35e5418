"""Packuments: the full and the abbreviated package document, serialized once per change.

The caller builds both when a package changes, stores the bytes with their ETags and
serves them as they are. The full form is what ``npm view``, ``?write=true`` (deprecate,
unpublish) and npm >= 10.4's tree building read; the abbreviated (corgi) form, chosen by
``Accept: application/vnd.npm.install-v1+json``, carries only what installing needs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson

from artifortress_npm.dist_tags import live_dist_tags
from artifortress_npm.names import tarball_filename
from artifortress_npm.state import PackageState, VersionRecord
from artifortress_npm.versions import sort_versions

FULL_MEDIA_TYPE = "application/json"
#: Stored packuments carry this instead of the registry's base URL, which is
#: filled in per request: one stored copy serves every host name the registry
#: is reached by, and a client-chosen ``Host`` never creates stored rows.
BASE_PLACEHOLDER = "http://registry-base.invalid"
ABBREVIATED_MEDIA_TYPE = "application/vnd.npm.install-v1+json"

# Version fields of the abbreviated form: npm/registry's list, plus what pacote, arborist
# and pnpm read from it (peerDependenciesMeta, os, cpu, libc, funding, acceptDependencies).
_ABBREVIATED_FIELDS = (
    "name",
    "version",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "bundledDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "acceptDependencies",
    "bin",
    "directories",
    "engines",
    "os",
    "cpu",
    "libc",
    "funding",
)
# Hoisted to the top of the full document from the version "latest" points to.
_HOISTED = ("description", "author", "contributors", "license", "repository", "homepage")
_HOISTED_TAIL = ("keywords", "bugs")


@dataclass(frozen=True)
class RenderedDocument:
    """One serialized form with its strong ETag and Content-Type."""

    body: bytes
    etag: str
    content_type: str


@dataclass(frozen=True)
class BuiltPackument:
    """Both forms of a package's document, plus ``Last-Modified`` and ``_rev``."""

    full: RenderedDocument
    abbreviated: RenderedDocument
    last_modified: str
    modified: datetime
    rev: str

    def select(self, accept: str | None) -> RenderedDocument:
        """Return the form an ``Accept`` header asks for."""
        return self.abbreviated if wants_abbreviated(accept) else self.full


def iso(moment: datetime) -> str:
    """Format a datetime as npm does: ``2015-03-24T00:12:24.039Z`` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tarball_url(registry_base: str, name: str, version: str) -> str:
    """Return ``{registry_base}/{name}/-/{unscoped-name}-{version}.tgz``."""
    return f"{registry_base.rstrip('/')}/{name}/-/{tarball_filename(name, version)}"


def make_rev(state: PackageState) -> str:
    """Return the CouchDB-style ``_rev`` (``<revision>-<hash>``) of the state."""
    seed = f"{state.name}\n{state.revision}\n{iso(state.modified)}".encode()
    return f"{state.revision}-{hashlib.sha256(seed).hexdigest()[:32]}"


def build_packument(state: PackageState, registry_base: str) -> BuiltPackument:
    """Build and serialize both documents of ``state`` with tarball URLs under the base."""
    order = sort_versions(state.versions)
    full_versions = {v: full_version(state, state.versions[v], registry_base) for v in order}
    tags = live_dist_tags(state)
    rev = make_rev(state)
    full = _full_document(state, full_versions, tags, rev)
    abbreviated = {
        "name": state.name,
        "modified": iso(state.modified),
        "dist-tags": tags,
        "versions": {v: _abbreviate(full_versions[v]) for v in order},
    }
    return BuiltPackument(
        full=_render(full, FULL_MEDIA_TYPE, "f"),
        abbreviated=_render(abbreviated, ABBREVIATED_MEDIA_TYPE, "a"),
        last_modified=http_date(state.modified),
        modified=state.modified,
        rev=rev,
    )


@dataclass(frozen=True)
class VersionPieces:
    """One version's serialized objects in both forms: what a packument repeats per version.

    They depend only on the version's record (its metadata never changes once
    published, its deprecation is part of the record) and the base URL, so
    they can be kept and spliced into every later packument of the package.
    """

    full: bytes
    abbreviated: bytes


def version_pieces(name: str, record: VersionRecord, registry_base: str) -> VersionPieces:
    """The serialized full and abbreviated objects of one version."""
    document = version_document(name, record, registry_base)
    return VersionPieces(dumps(document), dumps(_abbreviate(document)))


def packument_from_pieces(
    state: PackageState, pieces: Mapping[str, VersionPieces], *, abbreviated: bool
) -> bytes | None:
    """One form of the packument with each version's object taken from *pieces*.

    The bytes :func:`build_packument` makes, without rebuilding and serializing
    every version again: the per-version work of a publish stays one version's.
    ``None`` if the rest of the document needs the slower serializer (an
    integer beyond 64 bits in the latest manifest): build it whole then.
    """
    order = sort_versions(state.versions)
    tags = live_dist_tags(state)
    if abbreviated:
        versions = {v: orjson.Fragment(pieces[v].abbreviated) for v in order}
        document: dict[str, Any] = {
            "name": state.name,
            "modified": iso(state.modified),
            "dist-tags": tags,
            "versions": versions,
        }
    else:
        versions = {v: orjson.Fragment(pieces[v].full) for v in order}
        document = _full_document(state, versions, tags, make_rev(state))
    try:
        return orjson.dumps(document, default=_mapping_as_dict)
    except orjson.JSONEncodeError:
        return None


def full_version(state: PackageState, record: VersionRecord, registry_base: str) -> dict[str, Any]:
    """Return the full version object (also the body of ``GET /{name}/{version}``)."""
    return version_document(state.name, record, registry_base)


def version_document(name: str, record: VersionRecord, registry_base: str) -> dict[str, Any]:
    """The full version object of *record*, a version of package *name*."""
    dist: dict[str, Any] = {
        "integrity": record.integrity,
        "shasum": record.shasum,
        "tarball": tarball_url(registry_base, name, record.version),
    }
    if record.file_count is not None:
        dist["fileCount"] = record.file_count
    if record.unpacked_size is not None:
        dist["unpackedSize"] = record.unpacked_size
    document = {**record.manifest, "_id": f"{name}@{record.version}", "dist": dist}
    if record.has_shrinkwrap is not None:
        document["_hasShrinkwrap"] = record.has_shrinkwrap
    if record.has_install_script:
        document["hasInstallScript"] = True
    if record.deprecated:
        document["deprecated"] = record.deprecated
    return document


def abbreviate_document(full: Mapping[str, Any]) -> dict[str, Any]:
    """The abbreviated (corgi) form of a full packument: what installing reads.

    For documents built elsewhere (an upstream's, a virtual repository's merge);
    :func:`build_packument` abbreviates its own while building.
    """
    time = full.get("time")
    modified = time.get("modified") if isinstance(time, Mapping) else None
    versions = full.get("versions")
    document: dict[str, Any] = {"name": full.get("name")}
    if modified is not None:
        document["modified"] = modified
    document["dist-tags"] = full.get("dist-tags", {})
    document["versions"] = {
        number: _abbreviate(version)
        for number, version in (versions.items() if isinstance(versions, Mapping) else ())
        if isinstance(version, dict)
    }
    return document


def _abbreviate(version: dict[str, Any]) -> dict[str, Any]:
    result = {key: version[key] for key in _ABBREVIATED_FIELDS if key in version}
    if "dist" in version:
        result["dist"] = version["dist"]
    for key in ("deprecated", "_hasShrinkwrap", "hasInstallScript"):
        if key in version:
            result[key] = version[key]
    return result


def _full_document(
    state: PackageState, versions: Mapping[str, object], tags: dict[str, str], rev: str
) -> dict[str, Any]:
    latest = state.versions.get(tags.get("latest", ""))
    manifest = latest.manifest if latest else {}
    document: dict[str, Any] = {"_id": state.name, "_rev": rev, "name": state.name}
    document.update({k: manifest[k] for k in _HOISTED if k in manifest})
    document["dist-tags"] = tags
    document["versions"] = versions
    document["time"] = _time(state)
    document["maintainers"] = [dict(m) for m in state.maintainers]
    document["readme"] = state.readme
    document["readmeFilename"] = state.readme_filename
    document.update({k: manifest[k] for k in _HOISTED_TAIL if k in manifest})
    document["users"] = {}
    return document


def _time(state: PackageState) -> dict[str, str]:
    """Return ``time``: created, modified and every version ever published, unpublished too."""
    published = {v: r.published for v, r in state.versions.items()}
    published.update({v: t for v, t in state.unpublished.items() if v not in published})
    time = {"created": iso(state.created), "modified": iso(state.modified)}
    time.update({v: iso(published[v]) for v in sort_versions(published)})
    return time


def _render(document: dict[str, Any], content_type: str, tag: str) -> RenderedDocument:
    body = dumps(document)
    etag = f'"{tag}-{hashlib.blake2b(body, digest_size=20).hexdigest()}"'
    return RenderedDocument(body=body, etag=etag, content_type=content_type)


def _mapping_as_dict(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(document: object) -> bytes:
    """Serialize compact UTF-8 JSON; orjson is ~10x faster than json on big packuments."""
    try:
        return orjson.dumps(document, default=_mapping_as_dict)
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits, which a package.json may contain.
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def version_json(state: PackageState, version: str, registry_base: str) -> bytes:
    """Return the serialized ``GET /{name}/{version}`` document of a live version."""
    return dumps(full_version(state, state.versions[version], registry_base))


def resolve_spec(state: PackageState, spec: str) -> str | None:
    """Resolve ``GET /{name}/{spec}``: a dist-tag first, then an exact live version."""
    tagged = live_dist_tags(state).get(spec)
    if tagged is not None:
        return tagged
    return spec if spec in state.versions else None


def wants_abbreviated(accept: str | None) -> bool:
    """Tell whether an ``Accept`` header asks for the abbreviated (corgi) document."""
    if not accept:
        return False
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media.lower() == ABBREVIATED_MEDIA_TYPE:
            return not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00") for p in params)
    return False


def http_date(moment: datetime) -> str:
    """Format a datetime as an HTTP date (``Last-Modified``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def is_not_modified(
    document: RenderedDocument,
    modified: datetime,
    *,
    if_none_match: str | None,
    if_modified_since: str | None,
) -> bool:
    """Decide a 304: ``If-None-Match`` wins when present, else ``If-Modified-Since``."""
    if if_none_match is not None:
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in candidates or document.etag in candidates
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    current = modified if modified.tzinfo else modified.replace(tzinfo=UTC)
    return current.replace(microsecond=0) <= since
