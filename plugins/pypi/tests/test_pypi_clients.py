"""The pure modules behind a throwaway WSGI server, driven by the real twine and uv clients."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from artifortress_pypi.digests import DigestingWriter
from artifortress_pypi.errors import PypiError
from artifortress_pypi.filenames import parse_filename
from artifortress_pypi.form import UploadForm, validate_upload_form
from artifortress_pypi.metadata import DistributionMetadata, load_distribution_metadata
from artifortress_pypi.multipart import parse_form


@dataclass
class Received:
    """What the server accepted or refused."""

    uploads: list[tuple[UploadForm, DistributionMetadata]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    transfer_encodings: list[str] = field(default_factory=list)


def upload_app(received: Received, tmp: Path) -> Any:
    """A minimal upload endpoint wiring multipart -> digests -> form -> metadata."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        received.transfer_encodings.append(environ.get("HTTP_TRANSFER_ENCODING", ""))
        length = environ.get("CONTENT_LENGTH")
        try:
            with tempfile.NamedTemporaryFile(dir=tmp, delete=False) as spool:
                writer = DigestingWriter(spool)
                # wsgiref's input blocks past the body: read exactly Content-Length.
                raw = environ["wsgi.input"].read(int(length) if length else -1)
                result = parse_form(io.BytesIO(raw), environ.get("CONTENT_TYPE"), writer)
            parsed = parse_filename(result.filename or "")
            form = validate_upload_form(result.fields, parsed, writer.digests())
            meta = load_distribution_metadata(spool.name, parsed)
        except PypiError as exc:
            received.refusals.append(exc.message)
            start_response(f"{exc.status} {exc.message}", [("Content-Type", "text/plain")])
            return [exc.message.encode()]
        received.uploads.append((form, meta))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"OK"]

    return app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Received]]:
    received = Received()
    httpd: WSGIServer = make_server("127.0.0.1", 0, upload_app(received, tmp_path),
                                    handler_class=QuietHandler)  # fmt: skip
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/legacy/", received
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A wheel and an sdist of ``Mixed.Case_Name`` 2.0 built by ``python -m build``."""
    root = tmp_path_factory.mktemp("proj")
    (root / "mixed_case").mkdir()
    (root / "mixed_case" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "Mixed.Case_Name"\nversion = "2.0"\nrequires-python = ">=3.8"\n'
        'dependencies = ["packaging>=20"]\ndescription = "A summary"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["mixed_case"]\n'
    )
    out = root / "dist"
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                    str(root)], check=True, capture_output=True)  # fmt: skip
    return sorted(out.iterdir())


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "UV_"))}
    env["NO_COLOR"] = "1"
    return env


def twine(url: str, files: list[Path], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--repository-url", url, "-u", "__token__",
         "-p", "secret", "--non-interactive", "--disable-progress-bar", *extra,
         *map(str, files)],
        capture_output=True, text=True, timeout=120, env=client_env(),
    )  # fmt: skip


def test_twine_upload_is_accepted(server: tuple[str, Received], dists: list[Path]) -> None:
    url, received = server
    done = twine(url, dists)
    assert done.returncode == 0, done.stdout + done.stderr
    assert received.refusals == []
    kinds = sorted(form.filetype for form, _ in received.uploads)
    assert kinds == ["bdist_wheel", "sdist"]
    for form, meta in received.uploads:
        assert meta.metadata.normalized_name == "mixed-case-name"
        assert meta.metadata.requires_python == ">=3.8"
        assert "sha256_digest" in form.sent_digests
        assert form.metadata_fields["requires_dist"] == "packaging>=20"


def test_twine_attestations_reach_the_form(
    server: tuple[str, Received], dists: list[Path], tmp_path: Path
) -> None:
    url, received = server
    wheel = next(p for p in dists if p.suffix == ".whl")
    attestation = tmp_path / f"{wheel.name}.publish.attestation"
    attestation.write_text('{"version": 1, "envelope": {"statement": "", "signature": ""}}')
    staged = tmp_path / wheel.name
    staged.write_bytes(wheel.read_bytes())
    (tmp_path / attestation.name).write_text(attestation.read_text())
    done = twine(url, [staged, tmp_path / attestation.name], "--attestations")
    assert done.returncode == 0, done.stdout + done.stderr
    (form, _meta) = received.uploads[0]
    assert form.attestations is not None
    assert '"version": 1' in form.attestations


def test_twine_shows_the_refusal_reason(
    server: tuple[str, Received], dists: list[Path], tmp_path: Path
) -> None:
    """A wheel whose filename lies about its version is refused; twine prints the reason."""
    url, received = server
    wheel = next(p for p in dists if p.suffix == ".whl")
    liar = tmp_path / wheel.name.replace("-2.0-", "-3.0-")
    liar.write_bytes(wheel.read_bytes())
    done = twine(url, [liar])
    assert done.returncode != 0
    assert received.uploads == []
    assert "Version in filename should be" in received.refusals[0]
    assert "400" in done.stderr + done.stdout


def test_uv_publish_is_accepted(server: tuple[str, Received], dists: list[Path]) -> None:
    url, received = server
    uv = Path(sys.executable).parent / "uv"
    done = subprocess.run(
        [str(uv), "publish", "--publish-url", url, "--username", "__token__", "--password",
         "secret", *map(str, dists)],
        capture_output=True, text=True, timeout=120, env=client_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert received.refusals == []
    assert sorted(form.filetype for form, _ in received.uploads) == ["bdist_wheel", "sdist"]
    for form, _ in received.uploads:
        assert {"sha256_digest", "blake2_256_digest"} <= set(form.sent_digests)
