"""Bulk loading over HTTP: the PyPI legacy upload form and the npm publish document.

These send exactly what twine and ``npm publish`` send, over keep-alive
connections, so loading thousands of generated files into every server takes
seconds instead of the minutes a client process per file would.  The timed
rows use the real clients (bench/rows.py); these only fill the servers.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlsplit

from bench.data import read_npm_manifest

T = TypeVar("T")


def basic(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Http:
    """One keep-alive connection per thread to one server."""

    def __init__(self, base_url: str, authorization: str | None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.authorization = authorization
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
            self._local.conn = conn
        return conn

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request (*path* relative to the base URL), retrying once on a dropped link."""
        sent = {"Authorization": self.authorization} if self.authorization else {}
        sent |= headers or {}
        for attempt in range(2):
            conn = self._conn()
            try:
                conn.request(method, self.prefix + path, body=body, headers=sent)
                answer = conn.getresponse()
                return answer.status, answer.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def wheel_form(path: Path) -> dict[str, str]:
    """The legacy upload form twine sends for a wheel (name and version from the filename)."""
    dist, version, python, *_ = path.name.removesuffix(".whl").split("-")
    content = path.read_bytes()
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": dist.replace("_", "-"),
        "version": version,
        "filetype": "bdist_wheel",
        "pyversion": python,
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
        "md5_digest": hashlib.md5(content, usedforsecurity=False).hexdigest(),
    }


def upload_wheels(http: Http, path: str, wheels: Iterable[Path], threads: int = 4) -> int:
    """Upload wheels with the legacy form to *path* (e.g. ``/legacy/``); returns the count."""

    def one(wheel: Path) -> None:
        body, content_type = _multipart(wheel_form(wheel), wheel.name, wheel.read_bytes())
        status, answer = http.request("POST", path, body, {"Content-Type": content_type})
        if status >= 300:
            raise RuntimeError(f"uploading {wheel.name} answered {status}: {answer[:300]!r}")

    return _in_pool(one, list(wheels), threads)


def refusals(http: Http, path: str, wheels: Iterable[Path]) -> dict[Path, str]:
    """Upload each wheel once; the ones the server refuses, with its message."""
    refused = {}
    for wheel in wheels:
        body, content_type = _multipart(wheel_form(wheel), wheel.name, wheel.read_bytes())
        status, answer = http.request("POST", path, body, {"Content-Type": content_type})
        if status >= 300:
            refused[wheel] = f"{status} {answer.decode(errors='replace')[:300]}"
    return refused


def publish_document(tarball: Path, registry: str) -> tuple[str, bytes]:
    """The name and the JSON body ``npm publish`` would PUT for *tarball*."""
    manifest = read_npm_manifest(tarball)
    name, version = str(manifest["name"]), str(manifest["version"])
    data = tarball.read_bytes()
    filename = f"{name}-{version}.tgz"
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    shasum = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    dist = {
        "integrity": integrity,
        "shasum": shasum,
        "tarball": f"{registry.rstrip('/')}/{name}/-/{filename.rsplit('/', 1)[-1]}",
    }
    version_doc = {**manifest, "_id": f"{name}@{version}", "dist": dist}
    document = {
        "_id": name,
        "name": name,
        "description": manifest.get("description", ""),
        "dist-tags": {"latest": version},
        "versions": {version: version_doc},
        "readme": "",
        "access": None,
        "_attachments": {
            filename: {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(data).decode(),
                "length": len(data),
            }
        },
    }
    return name, json.dumps(document).encode()


def npm_escape(name: str) -> str:
    """A package name as it appears in a registry URL (``@scope%2fname``)."""
    return quote(name, safe="@")


def publish_tarballs(http: Http, registry: str, tarballs: Iterable[Path], threads: int = 4) -> int:
    """PUT a publish document per tarball; one package's versions stay in order, on one thread."""
    by_package: dict[str, list[tuple[str, bytes]]] = {}
    for tarball in tarballs:
        name, body = publish_document(tarball, registry)
        by_package.setdefault(name, []).append((name, body))

    def package(documents: list[tuple[str, bytes]]) -> None:
        for name, body in documents:
            headers = {"Content-Type": "application/json", "npm-command": "publish"}
            status, answer = http.request("PUT", f"/{npm_escape(name)}", body, headers)
            if status >= 300:
                raise RuntimeError(f"publishing {name} answered {status}: {answer[:300]!r}")

    _in_pool(package, list(by_package.values()), threads)
    return sum(len(documents) for documents in by_package.values())


def _in_pool(work: Callable[[T], None], items: list[T], threads: int) -> int:
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result()
    return len(items)
