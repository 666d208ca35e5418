"""Test kit: the real npm CLI against throwaway stdlib HTTP servers on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from artifortress_npm.state import PackageState, VersionRecord

NPM_TIMEOUT = 180


@dataclass(frozen=True)
class Request:
    """One request a test server received."""

    method: str
    path: str
    headers: Message
    body: bytes


Response = tuple[int, dict[str, str], bytes]
Handler = Callable[[Request], Response]


def json_response(status: int, document: object) -> Response:
    """Build a JSON response tuple."""
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode()


@contextmanager
def serve(handler: Handler) -> Iterator[tuple[str, list[Request]]]:
    """Serve ``handler`` on 127.0.0.1 (free port); yield the base URL and the request log."""
    log: list[Request] = []

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _handle(self) -> None:
            request = Request(self.command, self.path, self.headers, self._body())
            log.append(request)
            status, headers, body = handler(request)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Npm:
    """Runs the real npm CLI with an isolated home, cache and userconfig."""

    root: Path

    def env(self, registry: str) -> dict[str, str]:
        """Return an environment pointing npm at ``registry`` with a fake token."""
        npmrc = self.root / "npmrc"
        npmrc.write_text(f"{registry.removeprefix('http:')}:_authToken=fake-token\n")
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root / "home"),
            "npm_config_cache": str(self.root / "cache"),
            "npm_config_userconfig": str(npmrc),
            "npm_config_registry": registry,
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
        }

    def run(self, args: list[str], cwd: Path, registry: str, *, fail: bool = False) -> str:
        """Run npm; return stdout, or stderr with ``fail`` (which expects a non-zero exit)."""
        npm = shutil.which("npm")
        assert npm is not None, "the npm CLI must be installed for these tests"
        result = subprocess.run(
            [npm, *args],
            cwd=cwd,
            env=self.env(registry),
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        output = f"npm {args}:\n{result.stdout}\n{result.stderr}"
        assert (result.returncode != 0) is fail, output
        return result.stderr if fail else result.stdout


@dataclass
class Published:
    """A body the real npm CLI sent for ``npm publish``, with its project directory."""

    name: str
    version: str
    url_path: str
    body: bytes
    project: Path
    headers: dict[str, str] = field(default_factory=dict)


# A scoped package with a bin, a readme and an install script, published with a tag; and
# an unscoped one that depends on it, ships a shrinkwrap and a file big enough that its
# base64 spans many parser chunks.
PROJECTS: dict[str, dict[str, object]] = {
    "@acme/hello": {
        "package": {
            "name": "@acme/hello",
            "version": "1.0.0",
            "description": "Says hello",
            "bin": {"hello": "cli.js"},
            "scripts": {"postinstall": "node -e \"console.log('installed')\""},
            "keywords": ["greeting", "demo"],
            "license": "MIT",
        },
        "files": {
            "cli.js": "#!/usr/bin/env node\nconsole.log('hello \u00e9\u00e8 \u2603')\n",
            "README.md": "# Hello\n\nSays hello \u2603\n",
        },
        "publish_args": ["--access", "public", "--tag", "beta"],
    },
    "plain-pkg": {
        "package": {
            "name": "plain-pkg",
            "version": "2.0.0",
            "description": "Depends on @acme/hello",
            "main": "index.js",
            "dependencies": {"@acme/hello": "^1.0.0"},
            "engines": {"node": ">=18"},
        },
        "files": {
            "index.js": "module.exports = require('@acme/hello/package.json').name\n",
            "data.txt": "".join(f"{i:08x}{(i * 2654435761) % 2**32:08x}\n" for i in range(20000)),
        },
        "publish_args": [],
    },
}


def sri_of(data: bytes) -> str:
    """The sha512 integrity string of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def make_state(
    name: str = "pkg",
    versions: tuple[str, ...] = ("1.0.0",),
    *,
    deprecated: dict[str, str] | None = None,
    unpublished: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    revision: int = 3,
) -> PackageState:
    """A package state with simple manifests, published a minute apart from 2024-01-01."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    records = {}
    for index, version in enumerate(versions):
        manifest = {
            "name": name,
            "version": version,
            "description": f"{name} {version}",
            "main": "index.js",
            "dependencies": {"dep": "^1.0.0"},
            "scripts": {"test": "node t.js"},
            "_npmVersion": "11.0.0",
            "_npmUser": {"name": "alice", "email": "alice@example.com"},
        }
        records[version] = VersionRecord(
            version=version,
            manifest=manifest,
            shasum=hashlib.sha1(version.encode()).hexdigest(),
            integrity="sha512-"
            + base64.b64encode(hashlib.sha512(version.encode()).digest()).decode(),
            published=start + timedelta(minutes=index),
            file_count=3,
            unpacked_size=100 + index,
            deprecated=(deprecated or {}).get(version),
            has_shrinkwrap=False,
        )
    return PackageState(
        name=name,
        versions=records,
        dist_tags=tags if tags is not None else {"latest": versions[-1]},
        created=start,
        modified=start + timedelta(minutes=len(versions)),
        revision=revision,
        unpublished={v: datetime.fromisoformat(t) for v, t in (unpublished or {}).items()},
        maintainers=[{"name": "alice", "email": "alice@example.com"}],
        readme="# readme",
        readme_filename="README.md",
    )
