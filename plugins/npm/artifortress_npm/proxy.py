"""Remote and virtual npm repositories: packuments and tarballs through the core's remote engine.

The core fetches, caches, verifies and stores; this module translates npm:

- A remote repository asks its upstream for the *full* packument of a name
  (``GET {upstream}/{@scope%2fname}``, one cached document per name, whatever
  form the client asked for) and abbreviates it here for installs: one
  upstream document serves both forms, the tarball resolution and the
  version metadata a repository policy reads (``license``).
- A virtual repository merges the documents of the members
  ``Gateway.sources`` names for the package (:mod:`artifortress_npm.merge`);
  a hosted member's is its stored packument.
- Every ``dist.tarball`` points at the repository the client asked; a tarball
  request resolves the version to the first member holding it. A remote
  streams the file from the URL its upstream's packument gives
  (``Gateway.send_upstream_file``), checked against that packument's
  ``dist.integrity`` (or ``shasum``): a tampered file never reaches a client
  whole and is not kept.

Rebuilding a merged document is a parse and a serialization: the result is
kept per process, keyed by what it was built from (each member's document
identity), and answered with an ETag of that key, so a client's revalidation
is a 304 while nothing upstream or in a member changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import falcon

from artifortress.plugin import (
    HOSTED,
    REMOTE,
    Gateway,
    NotFound,
    Rendered,
    RepoInfo,
    UpstreamUnavailable,
    error_for_status,
)
from artifortress_npm import stored
from artifortress_npm.merge import MemberDocument, merge_packuments, rebased
from artifortress_npm.names import escaped_name, tarball_filename, version_from_tarball_filename
from artifortress_npm.packument import (
    ABBREVIATED_MEDIA_TYPE,
    BASE_PLACEHOLDER,
    FULL_MEDIA_TYPE,
    abbreviate_document,
    dumps,
)
from artifortress_npm.versions import is_semver

TARBALL_MEDIA_TYPE = "application/octet-stream"
#: The longest version number the core stores.
MAX_STORED_VERSION = 128


@dataclass(frozen=True)
class _Source:
    """One member's packument: parsed, and what names its content."""

    member: RepoInfo
    identity: tuple[object, ...]
    modified: datetime
    #: The parsed document: parsing waits until a cache miss needs it.
    load: Callable[[], Mapping[str, Any]]


def proxied_packument(
    gateway: Gateway, repo: RepoInfo, name: str, *, abbreviated: bool
) -> Rendered:
    """The packument of *name* in remote or virtual *repo*, tarballs under BASE_PLACEHOLDER."""
    sources = _sources(gateway, repo, name)
    identity = (repo.id, name, abbreviated, *(source.identity for source in sources))
    cached = _RENDERED.get(identity)
    if cached is not None:
        return cached
    document = _merged(sources, name, BASE_PLACEHOLDER)
    body = dumps(abbreviate_document(document) if abbreviated else document)
    tag = hashlib.blake2b(repr(identity).encode(), digest_size=20).hexdigest()
    doc = Rendered(
        body=body,
        content_type=ABBREVIATED_MEDIA_TYPE if abbreviated else FULL_MEDIA_TYPE,
        etag=f'"{"ra" if abbreviated else "rf"}-{tag}"',
        last_modified=max(source.modified for source in sources),
    )
    _RENDERED.put(identity, doc)
    return doc


def proxied_document(
    gateway: Gateway, repo: RepoInfo, name: str, registry_base: str
) -> dict[str, Any]:
    """The full packument of *name* in remote or virtual *repo*, tarballs under *registry_base*."""
    return _merged(_sources(gateway, repo, name), name, registry_base)


def send_proxied_tarball(
    resp: falcon.Response, gateway: Gateway, repo: RepoInfo, name: str, filename: str
) -> None:
    """Answer with the tarball from the first member of *repo* that holds its version."""
    version = version_from_tarball_filename(name, filename)
    if version is None:
        raise NotFound(f"tarball {filename} not found")
    unavailable: UpstreamUnavailable | None = None
    for member in gateway.sources(repo, name):
        try:
            if _sent(resp, gateway, member, name, version):
                return
        except UpstreamUnavailable as exc:  # the next member may hold it
            unavailable = unavailable or exc
    if unavailable is not None:
        raise unavailable
    raise NotFound(f"tarball {filename} not found")


def _sent(
    resp: falcon.Response, gateway: Gateway, member: RepoInfo, name: str, version: str
) -> bool:
    """Answer with *version*'s tarball if *member* has it or (a remote) its upstream has it.

    A remote streams a file it does not have yet from the URL its upstream's
    packument gives, checked against that packument's integrity; the core
    fetches it once however many ask, and refuses a version a policy holds.
    """
    if not is_semver(version) or len(version) > MAX_STORED_VERSION:
        return False  # never fetched: a version the remote could not keep
    filename = tarball_filename(name, version)
    try:  # one lookup of the published file (outside a session while none is open)
        gateway.send_artifact(
            resp,
            member,
            name,
            version,
            filename,
            media_type=TARBALL_MEDIA_TYPE,
            as_attachment=False,
        )
        return True
    except NotFound:  # not published there; a remote may not have fetched it yet
        if member.kind != REMOTE:
            return False
    try:
        upstream = _source(gateway, member, name).load()
    except NotFound:
        return False
    entry = _mapping(_mapping(upstream.get("versions")).get(version))
    dist = _mapping(entry.get("dist"))
    url = dist.get("tarball")
    if not isinstance(url, str):
        return False
    gateway.send_upstream_file(
        resp,
        member,
        url,
        package=name,
        version=version,
        filename=filename,
        integrity=_string(dist.get("integrity")) or _sha1_integrity(dist.get("shasum")),
        media_type=TARBALL_MEDIA_TYPE,
        metadata=_version_metadata(entry),
    )
    return True


# -- the members' documents ----------------------------------------------------------------------


def _sources(gateway: Gateway, repo: RepoInfo, name: str) -> list[_Source]:
    """The documents of the members that serve *name*, in order; NotFound if none has it."""
    found: list[_Source] = []
    unavailable: UpstreamUnavailable | None = None
    for member in gateway.sources(repo, name):
        try:
            found.append(_source(gateway, member, name))
        except NotFound:
            continue
        except UpstreamUnavailable as exc:  # hosted members are served while an upstream is down
            unavailable = unavailable or exc
    if found:
        return found
    if unavailable is not None:
        raise unavailable
    raise NotFound(f"package {name} not found")


def _source(gateway: Gateway, member: RepoInfo, name: str) -> _Source:
    if member.kind == REMOTE:
        upstream = gateway.upstream_document(
            member, escaped_name(name), accept=FULL_MEDIA_TYPE, key=_document_key(name)
        )
        return _Source(
            member=member,
            identity=(member.id, upstream.url, upstream.fetched_at.isoformat()),
            modified=_aware(upstream.fetched_at),
            load=lambda: _parsed(upstream.body, member, name),
        )
    if member.kind != HOSTED:
        raise NotFound(f"package {name} not found")  # flattened members are never virtual
    doc = stored.stored_packument(gateway, member, name, abbreviated=False)
    return _Source(
        member=member,
        identity=(member.id, doc.etag),
        modified=_aware(doc.last_modified),
        load=lambda: _parsed(doc.body, member, name),
    )


def _document_key(name: str) -> str:
    return f"packument:{name}"


def _merged(sources: list[_Source], name: str, registry_base: str) -> dict[str, Any]:
    members = [
        MemberDocument(document=source.load(), hosted=source.member.kind == HOSTED)
        for source in sources
    ]
    return rebased(merge_packuments(members), name, registry_base)


def _parsed(body: bytes, member: RepoInfo, name: str) -> Mapping[str, Any]:
    try:  # not orjson: it reads integers beyond 64 bits as floats, changing the document
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("versions", {}), dict):
        raise error_for_status(
            f"the packument of {name} from the upstream of {member.key!r} is not a JSON object",
            502,
        )
    return document


# -- what a fetched version records --------------------------------------------------------------


def _version_metadata(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The version metadata the hosted plugin stores, from the upstream's version document.

    Search, the license policy and a later view of the remote's own content read it.
    """
    manifest = {key: value for key, value in entry.items() if key not in ("dist", "_id")}
    dist = _mapping(entry.get("dist"))
    return {
        "manifest": manifest,
        "shasum": dist.get("shasum"),
        "integrity": dist.get("integrity"),
        "file_count": dist.get("fileCount"),
        "unpacked_size": dist.get("unpackedSize"),
        "summary": entry.get("description"),
        "keywords": entry.get("keywords"),
        "license": entry.get("license") or entry.get("licenses"),
    }


def _sha1_integrity(shasum: object) -> str | None:
    """A ``sha1-`` SRI string from a hex ``shasum`` (old packages have no ``integrity``)."""
    if not isinstance(shasum, str):
        return None
    try:
        digest = bytes.fromhex(shasum)
    except ValueError:
        return None
    return "sha1-" + base64.b64encode(digest).decode()


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _RenderedCache:
    """The last proxied packuments of this process, keyed by what they were built from.

    Bounded by count and by bytes (a full packument can be tens of megabytes);
    the keys name upstream fetches, so stale entries are simply never asked
    for again and age out.
    """

    def __init__(self, size: int, max_bytes: int) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[tuple[object, ...], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Rendered | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], doc: Rendered) -> None:
        if len(doc.body) > self._max_bytes:
            return  # built again when asked: keeping it would evict everything else
        with self._lock:
            replaced = self._entries.pop(key, None)
            self._bytes -= len(replaced.body) if replaced is not None else 0
            self._entries[key] = doc
            self._bytes += len(doc.body)
            while len(self._entries) > self._size or self._bytes > self._max_bytes:
                _key, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)


#: Far more entries than an install's dependency tree has packages (express 4: 71), which
#: must all stay (an install asks each once: a smaller LRU misses every one, every time);
#: the bytes bound the memory.
_RENDERED = _RenderedCache(size=4096, max_bytes=64 * 1024 * 1024)
