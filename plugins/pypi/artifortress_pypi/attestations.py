"""PEP 740 attestations of an upload: bundles for the core to verify, the provenance object.

twine sends the attestations of one file as a JSON array in the ``attestations``
form field. Each is converted to a sigstore bundle (``pypi-attestations``) and
verified by the core (``Gateway.verify_attestation``) against the file's sha256;
what is PyPI's own to check stays here: the statement must name this very
distribution and be of a predicate type the index knows, as warehouse requires.
The provenance object then names the verified publisher in PEP 740's shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.utils import parse_sdist_filename, parse_wheel_filename

from artifortress.plugin import AttestationResult

from .errors import PypiError

PUBLISH_V1 = "https://docs.pypi.org/attestations/publish/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
KNOWN_PREDICATES = frozenset({PUBLISH_V1, SLSA_PROVENANCE_V1})
UNVERIFIED: dict[str, Any] = {"kind": "unverified"}


def sigstore_bundles(attestations: str) -> list[str]:
    """Each attestation of the form field (a checked JSON array) as a sigstore bundle's JSON."""
    # Here, not at import: pypi-attestations loads sigstore, boto3 and more, which
    # only an upload carrying attestations needs.
    from pypi_attestations import Attestation

    bundles = []
    for item in json.loads(attestations):
        try:
            bundles.append(Attestation.model_validate(item).to_bundle().to_json())
        except ValueError as exc:  # pydantic's ValidationError and ConversionError are
            raise PypiError(f"Invalid attestations supplied during upload: {exc}") from None
    return bundles


def check_statement(result: AttestationResult, filename: str) -> None:
    """The statement must attest this distribution, with a predicate PyPI knows."""
    if result.predicate_type not in KNOWN_PREDICATES:
        raise PypiError(
            f"Invalid attestations supplied during upload: unknown attestation type "
            f"{result.predicate_type!r}; expected one of {', '.join(sorted(KNOWN_PREDICATES))}"
        )
    subject = _distribution(result.subject)
    if subject is None or subject != _distribution(filename):
        raise PypiError(
            f"Invalid attestations supplied during upload: the attestation is for "
            f"{result.subject!r}, not {filename!r}"
        )


def stored_result(results: Sequence[AttestationResult]) -> dict[str, Any]:
    """What the file keeps: verified only if every attestation is (else the first reason)."""
    chosen = next((r for r in results if not r.verified), results[0])
    return chosen.as_json()


def provenance(attestations: str, stored: Mapping[str, Any]) -> bytes:
    """The PEP 740 provenance object served at the file's ``.provenance`` URL."""
    bundle = {"publisher": publisher(stored), "attestations": json.loads(attestations)}
    return json.dumps({"version": 1, "attestation_bundles": [bundle]}).encode()


def publisher(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The PEP 740 publisher of a verified result (GitHub, GitLab); ``unverified`` otherwise.

    Other CI systems' identities are verified and kept with the file, but PEP 740
    clients know only the publisher kinds PyPI serves, so they stay ``unverified`` here.
    """
    result = AttestationResult.from_json(stored)
    identity = result.identity
    if not result.verified or identity is None:
        return dict(UNVERIFIED)
    if identity.kind == "GitHub":
        return {
            "kind": "GitHub",
            "repository": identity.repository,
            "workflow": identity.workflow,
            "environment": result.environment,
        }
    if identity.kind == "GitLab":
        return {
            "kind": "GitLab",
            "repository": identity.repository,
            "workflow_filepath": identity.workflow,
            "environment": result.environment,
        }
    return dict(UNVERIFIED)


def _distribution(filename: str) -> tuple[Any, ...] | None:
    """Name, version (and for wheels, build and tags) of a filename; None if it is none."""
    try:
        if filename.endswith(".whl"):
            return tuple(parse_wheel_filename(filename))
        if filename.endswith((".tar.gz", ".zip")):
            return tuple(parse_sdist_filename(filename))
    except ValueError:
        return None
    return None
