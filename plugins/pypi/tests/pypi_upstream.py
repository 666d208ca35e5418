"""A PyPI-like upstream for remote-repository tests: a static PEP 503 tree on 127.0.0.1.

:class:`PypiTree` serves ``/simple/``, ``/simple/{project}/`` (HTML with
``#sha256=`` fragments, ``data-requires-python``, ``data-yanked`` and, for
wheels, PEP 658/714 ``data-dist-info-metadata`` / ``data-core-metadata``) and
``/files/{filename}`` (and ``.metadata``) from the test upstream of
``tests/support/upstream.py``, which counts requests per path and can be slow
or stopped. :func:`real_distributions` downloads ``requests`` and its
dependencies once (``pip download``) into a folder later sessions reuse.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.utils import parse_sdist_filename, parse_wheel_filename

from tests.support.upstream import Upstream

#: Where downloaded distributions are kept between test sessions (``var/`` is not committed).
CACHE = Path(
    os.environ.get(
        "ARTIFORTRESS_TEST_CACHE", Path(__file__).resolve().parents[3] / "var" / "test-cache"
    )
)
#: What ``pip download requests`` brings: requests and its dependencies.
REQUESTS_SET = ("requests", "certifi", "charset-normalizer", "idna", "urllib3")


def real_distributions() -> list[Path]:
    """Wheels of ``requests`` and its dependencies for this interpreter (downloaded once).

    Downloaded into a folder of this process, then renamed into place: test
    workers starting at once never read one another's half-written files.
    """
    folder = CACHE / f"pypi-requests-py{sys.version_info[0]}{sys.version_info[1]}"
    if not folder.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE, prefix=".download-") as scratch:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--only-binary=:all:",
                    "--dest",
                    scratch,
                    "requests",
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
            with contextlib.suppress(OSError):  # another worker's rename came first
                Path(scratch).rename(folder)
    return sorted(folder.glob("*.whl"))


def project_of(filename: str) -> str:
    """The normalized project name a wheel or sdist filename holds."""
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[0])
    return str(parse_sdist_filename(filename)[0])


def wheel_metadata(path: Path) -> bytes | None:
    """The ``.dist-info/METADATA`` of a wheel (PEP 658 serves it beside the wheel)."""
    if path.suffix != ".whl":
        return None
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


class PypiTree:
    """Projects and their files as a static PEP 503 index on a running :class:`Upstream`."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._anchors: dict[str, dict[str, str]] = {}  # project -> filename -> anchor

    @property
    def url(self) -> str:
        """The index URL: what a remote repository's upstream is set to."""
        return self.upstream.url + "simple/"

    def add(
        self,
        path: Path,
        *,
        requires_python: str | None = None,
        yanked: str | None = None,
        announced: bytes | None = None,
    ) -> None:
        """Serve *path*; its page announces the sha256 of *announced* (default: its bytes)."""
        data = path.read_bytes()
        digest = hashlib.sha256(announced if announced is not None else data).hexdigest()
        self.upstream.serve(f"/files/{path.name}", data)
        attributes = [f'href="../../files/{path.name}#sha256={digest}"']
        if requires_python:
            attributes.append(f'data-requires-python="{html.escape(requires_python)}"')
        if yanked is not None:
            attributes.append(f'data-yanked="{html.escape(yanked)}"')
        metadata = wheel_metadata(path)
        if metadata is not None:
            self.upstream.serve(f"/files/{path.name}.metadata", metadata)
            value = f"sha256={hashlib.sha256(metadata).hexdigest()}"
            attributes.append(f'data-dist-info-metadata="{value}" data-core-metadata="{value}"')
        project = project_of(path.name)
        self._anchors.setdefault(project, {})[path.name] = (
            f"<a {' '.join(attributes)}>{html.escape(path.name)}</a><br/>"
        )
        self._render(project)

    def tamper(self, filename: str, data: bytes) -> bytes:
        """Serve other bytes for *filename* than its page announces; returns the old ones."""
        route = self.upstream.routes[f"/files/{filename}"]
        old, route.body = route.body, data
        return old

    def hits(self, filename: str) -> int:
        """How many times the upstream was asked for *filename*."""
        return self.upstream.hits[f"/files/{filename}"]

    def _render(self, project: str) -> None:
        anchors = "\n".join(self._anchors[project].values())
        page = f"<!DOCTYPE html><html><body><h1>Links for {project}</h1>\n{anchors}\n</body></html>"
        self.upstream.serve(f"/simple/{project}/", page.encode(), content_type="text/html")
        links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(self._anchors))
        self.upstream.serve("/simple/", links.encode(), content_type="text/html")
