"""Local npm upstreams for the remote tests, holding the real dependency tree of express 4.

The tarballs are ``npm pack``-ed once per machine from registry.npmjs.org and
kept in bench/work/cache (shared with the benchmark). Two upstreams serve them:

- a second Artifortress, into which they are published over HTTP as ``npm
  publish`` would, behind a :class:`CountingProxy` that counts the requests
  per path, can tamper with chosen files, and forwards the client's ``Host``
  so that the upstream's tarball URLs point at the proxy too;
- an :class:`NpmTree`: static packuments and tarballs on a test
  :class:`~tests.support.upstream.Upstream` (counting too), for the README tour.
"""

from __future__ import annotations

import base64
import collections
import fcntl
import hashlib
import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bench.clients import Http, publish_tarballs
from bench.data import npm_tree, read_npm_manifest
from tests.support.upstream import Upstream

#: The benchmark's cache: the tarballs are packed once per machine, not per test run.
CACHE = Path(__file__).resolve().parents[3] / "bench" / "work" / "cache"
#: Hop-by-hop and length headers the proxy sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def express_tree() -> list[Path]:
    """The tarballs of express 4 and of every package of its tree (about 70).

    Packed on first use under a lock: test processes running side by side
    (pytest -n 2) must not pack into the folder at once.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "npm-real.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return npm_tree(CACHE)


def publish_all(registry: str, token: str, tarballs: list[Path]) -> int:
    """Publish *tarballs* into the npm registry at *registry* (4 connections); return the count."""
    http = Http(registry, f"Bearer {token}")
    return publish_tarballs(http, registry, tarballs, threads=4)


class NpmTree:
    """Full packuments and tarballs of npm packages on a running :class:`Upstream`."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        #: The tarballs' paths, as requested of the upstream.
        self.tarballs: list[str] = []
        self._documents: dict[str, dict[str, object]] = {}

    @property
    def url(self) -> str:
        """The registry URL: what a remote repository's upstream is set to."""
        return self.upstream.url

    def add(self, tarball: Path) -> None:
        """Serve *tarball* and its package's packument (unscoped names)."""
        data = tarball.read_bytes()
        manifest = read_npm_manifest(tarball)
        name, version = str(manifest["name"]), str(manifest["version"])
        path = f"/{name}/-/{name}-{version}.tgz"
        self.upstream.serve(path, data)
        self.tarballs.append(path)
        dist = {
            "tarball": self.upstream.url.rstrip("/") + path,
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
            "shasum": hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        }
        document = self._documents.setdefault(
            name, {"_id": name, "name": name, "dist-tags": {}, "versions": {}, "time": {}}
        )
        versions = document["versions"]
        assert isinstance(versions, dict)
        versions[version] = {**manifest, "_id": f"{name}@{version}", "dist": dist}
        document["dist-tags"] = {"latest": version}
        body = json.dumps(document).encode()
        self.upstream.serve(f"/{name}", body, content_type="application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client closing its keep-alive connection is no error worth printing."""


class CountingProxy:
    """Forwards GETs to *target* (``http://host:port``), counting them by decoded path."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.hits: collections.Counter[str] = collections.Counter()
        #: Paths (decoded) whose body is altered on the way: a tampered upstream.
        self.tampered: set[str] = set()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler(self))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, path: str) -> None:
        with self._lock:
            self.hits[unquote(path)] += 1

    @contextmanager
    def running(self) -> Iterator[CountingProxy]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop listening: connections to the proxy are refused from now on."""
        self._server.shutdown()
        self._server.server_close()


def _handler(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            proxy.count(self.path)
            upstream = http.client.HTTPConnection(*proxy.target, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
            try:
                upstream.request("GET", self.path, headers=headers)
                answer = upstream.getresponse()
                body = answer.read()
            except OSError:
                self.send_error(502)
                return
            finally:
                upstream.close()
            if unquote(self.path) in proxy.tampered and body:
                body = body[:-1] + bytes([body[-1] ^ 0xFF])
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _NOT_FORWARDED:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet tests

    return Handler
