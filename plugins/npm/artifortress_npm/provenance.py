"""npm provenance (``npm publish --provenance``): the ``.sigstore`` attachment, verified.

The attachment is a sigstore bundle whose in-toto statement (SLSA provenance)
names the tarball as ``pkg:npm/<name>@<version>`` with its sha512. The core
verifies the bundle offline against the tarball's sha512
(``Gateway.verify_attestation``); the subject's package URL and the predicate
type are npm's to check, here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from artifortress.plugin import AttestationResult

from .errors import NpmError

SLSA_PREDICATES = frozenset({"https://slsa.dev/provenance/v0.2", "https://slsa.dev/provenance/v1"})
_PURL = "pkg:npm/"
#: A bundle is a few kilobytes (a certificate, a log entry, a signed statement).
MAX_BUNDLE = 1024 * 1024


def check_size(bundle: bytes) -> None:
    if len(bundle) > MAX_BUNDLE:
        raise NpmError(f"provenance refused: the bundle is larger than {MAX_BUNDLE} bytes", 413)


def sha512_hex(integrity: str) -> str:
    """The hex sha512 of an npm ``sha512-<base64>`` integrity string."""
    algorithm, _, encoded = integrity.partition("-")
    try:
        if algorithm != "sha512":
            raise ValueError(algorithm)
        return base64.b64decode(encoded, validate=True).hex()
    except (ValueError, binascii.Error):
        raise NpmError(f"unexpected tarball integrity {integrity!r}") from None


def checked(result: AttestationResult, name: str, version: str) -> dict[str, Any]:
    """The result to keep with the tarball, once its statement is seen to be npm provenance."""
    if result.predicate_type not in SLSA_PREDICATES:
        raise NpmError(
            f"provenance refused: predicate type {result.predicate_type!r} is not SLSA provenance"
        )
    if _package_of(result.subject) != (name, version):
        raise NpmError(f"provenance refused: it attests {result.subject!r}, not {name}@{version}")
    return result.as_json()


def _package_of(subject: str) -> tuple[str, str] | None:
    """``("@scope/name", "1.0.0")`` of ``pkg:npm/%40scope/name@1.0.0``."""
    if not subject.startswith(_PURL):
        return None
    name, at, version = unquote(subject.removeprefix(_PURL)).rpartition("@")
    return (name, version) if at and name else None
