"""A registry made only of the plugin's pure modules, in memory, for end-to-end tests.

It shows how the modules wire together (the real resources add storage, auth, RBAC and
audit) and lets the real npm CLI prove that the documents and checks fit its requests.
"""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from artifortress_npm.audit import (
    audit_unavailable,
    check_bulk_request,
    check_quick_request,
    read_audit_body,
)
from artifortress_npm.dist_tags import (
    dist_tags_json,
    parse_dist_tag_body,
    remove_dist_tag,
    set_dist_tag,
)
from artifortress_npm.errors import NpmError
from artifortress_npm.manifest import (
    check_publish,
    check_tarball_manifest,
    has_attachments,
    new_version,
)
from artifortress_npm.metadata import check_metadata_update
from artifortress_npm.names import (
    parse_target,
    split_dist_tags_path,
    split_path,
    version_from_tarball_filename,
)
from artifortress_npm.packument import (
    BuiltPackument,
    build_packument,
    is_not_modified,
    resolve_spec,
    version_json,
)
from artifortress_npm.publish_body import parse_publish_body
from artifortress_npm.search import hit_from_manifest, parse_search_query, render_search
from artifortress_npm.state import PackageState
from artifortress_npm.tarball import inspect_tarball, verify_declared
from artifortress_npm.transitions import (
    after_dist_tags,
    after_metadata_update,
    after_publish,
    after_removal,
)
from npm_testkit import Request, Response

JSON = {"Content-Type": "application/json"}
USER = {"name": "tester", "email": "tester@example.com"}


@dataclass
class MiniRegistry:
    """Packages in memory, tarballs in ``storage``; ``base`` is set once the server runs."""

    storage: Path
    base: str = ""
    states: dict[str, PackageState] = field(default_factory=dict)
    built: dict[str, BuiltPackument] = field(default_factory=dict)
    conflict_once: set[str] = field(default_factory=set)
    _clock: itertools.count[int] = field(default_factory=itertools.count)

    def now(self) -> datetime:
        """A clock that moves a second per call, so every change has its own time."""
        return datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=next(self._clock))

    def handle(self, request: Request) -> Response:
        """Answer one request; NpmError becomes npm's ``{"error": ...}``."""
        try:
            return self._route(request)
        except NpmError as error:
            return error.status, JSON, error.body_bytes()

    def _save(self, state: PackageState | None, name: str) -> None:
        if state is None:
            self.states.pop(name, None)
            self.built.pop(name, None)
            return
        self.states[name] = state
        self.built[name] = build_packument(state, self.base)

    def _state(self, name: str) -> PackageState:
        if name not in self.states:
            raise NpmError(f"package {name} not found", 404)
        return self.states[name]

    def _route(self, request: Request) -> Response:
        url = urlsplit(request.path)
        path = unquote(url.path)  # once, as a WSGI server decodes PATH_INFO
        if path.startswith("/-/"):
            return self._special(request, path, parse_qs(url.query))
        npm_path = split_path(path)
        target = parse_target(npm_path.rest)
        name, method = npm_path.name, request.method
        if target.kind == "packument" and method == "GET":
            return self._packument(request, name, "write=true" in url.query)
        if target.kind == "spec" and method == "GET":
            state = self._state(name)
            version = resolve_spec(state, target.spec or "")
            if version is None:
                raise NpmError(f"version {target.spec} of {name} not found", 404)
            return 200, JSON, version_json(state, version, self.base)
        if target.kind == "tarball" and method == "GET":
            version = version_from_tarball_filename(name, target.filename or "")
            if version is None or version not in self._state(name).versions:
                raise NpmError("tarball not found", 404)
            path = self.storage / f"{name.replace('/', '__')}-{version}.tgz"
            return 200, {"Content-Type": "application/octet-stream"}, path.read_bytes()
        if target.kind in ("packument", "rev") and method == "PUT":
            return self._put(request, name, target.rev)
        if target.kind == "tarball" and method == "DELETE":
            version = version_from_tarball_filename(name, target.filename or "")
            state = self._state(name)
            if version in state.versions:  # usually already dropped by the -rev PUT
                self._save(after_removal(state, [version], now=self.now()), name)
            return 200, JSON, b"{}"
        if target.kind == "rev" and method == "DELETE":
            self._state(name)
            self._save(None, name)
            return 200, JSON, b"{}"
        raise NpmError("not found", 404)

    def _packument(self, request: Request, name: str, write: bool) -> Response:
        built = self.built.get(name)
        if built is None:
            raise NpmError(f"package {name} not found", 404)
        document = built.full if write else built.select(request.headers.get("Accept"))
        headers = {
            "Content-Type": document.content_type,
            "ETag": document.etag,
            "Last-Modified": built.last_modified,
            "Vary": "Accept",
        }
        if not write and is_not_modified(
            document,
            built.modified,
            if_none_match=request.headers.get("If-None-Match"),
            if_modified_since=request.headers.get("If-Modified-Since"),
        ):
            return 304, headers, b""
        return 200, headers, document.body

    def _put(self, request: Request, name: str, rev: str | None) -> Response:
        state = self.states.get(name)
        if rev is not None and (state is None or rev != self.built[name].rev):
            raise NpmError("revision conflict", 409)
        files: dict[str, io.BufferedWriter] = {}

        def sink(attachment: str) -> io.BufferedWriter:
            files[attachment] = (self.storage / f"upload-{len(files)}").open("wb")
            return files[attachment]

        try:
            body = parse_publish_body(
                io.BytesIO(request.body),
                sink,
                content_length=len(request.body),
                max_body_size=64 * 1024 * 1024,
            )
        finally:
            for handle in files.values():
                handle.close()
        if not has_attachments(body.document):
            if state is None:
                raise NpmError(f"package {name} not found", 404)
            changes = check_metadata_update(
                name, body.document, state, allow_unpublish=rev is not None
            )
            self._save(after_metadata_update(state, changes, now=self.now()), name)
            return 200, JSON, b'{"ok":true}'
        used = state.all_version_numbers() if state else set()
        publish = check_publish(name, body.document, used)
        if publish.version in self.conflict_once:
            self.conflict_once.discard(publish.version)
            raise NpmError("simulated concurrent update", 409)
        upload = Path(files[publish.tarball].name)
        tarball = inspect_tarball(upload)
        check_tarball_manifest(publish, tarball.manifest)
        attachment = body.attachments[publish.tarball]
        verify_declared(
            publish.manifest.get("dist"),
            tarball.digests,
            declared_length=attachment.declared_length,
        )
        upload.rename(self.storage / f"{name.replace('/', '__')}-{publish.version}.tgz")
        now = self.now()
        record, normalized = new_version(publish, tarball, attachment, published=now, npm_user=USER)
        new_state = after_publish(
            state, name, record, normalized, publish.dist_tags, now=now, maintainer=USER
        )
        self._save(new_state, name)
        return 201, JSON, b'{"ok":true}'

    def _special(self, request: Request, path: str, query: dict[str, list[str]]) -> Response:
        encoding = request.headers.get("Content-Encoding")
        if path == "/-/npm/v1/security/advisories/bulk":
            check_bulk_request(read_audit_body(request.body, content_encoding=encoding))
            raise audit_unavailable()
        if path == "/-/npm/v1/security/audits/quick":
            check_quick_request(read_audit_body(request.body, content_encoding=encoding))
            raise audit_unavailable()
        if path == "/-/v1/search":
            params = parse_search_query({k: v[0] for k, v in query.items()})
            found = [s for n, s in sorted(self.states.items()) if params.text in n]
            hits = [
                hit_from_manifest(s.name, s.versions[s.dist_tags["latest"]].manifest) for s in found
            ]
            page = hits[params.offset : params.offset + params.size]
            return 200, JSON, render_search(page, len(hits))
        if path.startswith("/-/package/"):
            name, tag = split_dist_tags_path(path.removeprefix("/-/package"))
            return self._dist_tags(request, name, tag)
        if path == "/-/whoami":
            return 200, JSON, json.dumps({"username": USER["name"]}).encode()
        raise NpmError("not found", 404)

    def _dist_tags(self, request: Request, name: str, tag: str | None) -> Response:
        state = self._state(name)
        if tag is None and request.method == "GET":
            return 200, JSON, dist_tags_json(state)
        if tag is not None and request.method == "PUT":
            tags = set_dist_tag(state, tag, parse_dist_tag_body(request.body))
        elif tag is not None and request.method == "DELETE":
            tags = remove_dist_tag(state, tag)
        else:
            raise NpmError("not found", 404)
        self._save(after_dist_tags(state, tags, now=self.now()), name)
        return 200, JSON, json.dumps(tags).encode()
