"""Verifying one sigstore bundle (a DSSE-signed in-toto statement) for one stored file.

The order matters for what a failure means:

1. the bundle must parse, carry one in-toto statement, and name the file's digest
   as a subject; otherwise it is refused (a bundle for other bytes says nothing
   about this file);
2. the statement's signature must verify with the certificate's key; otherwise
   the bundle was altered after signing: refused;
3. the certificate chain (to the trust root's Fulcio CA, at the log's signed
   time), its SCT, and the transparency log entry (inclusion proof, checkpoint
   and promise against the trust root's log keys) must verify. A bundle whose
   chain of trust cannot be established (another sigstore instance, a log entry
   kind the verifier does not support, a trust root that predates the signing
   CA) is *unverifiable*: kept, marked unverified with the reason, so it claims
   nothing, unless the upload came through trusted publishing, where the
   signer's identity must be proven;
4. with a trusted publisher, the certificate's identity must be that publisher.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle
from sigstore.verify import Verifier

from artifortress.attestations.identity import identity_of, publisher_mismatch
from artifortress.attestations.results import AttestationRefused, AttestationResult

IN_TOTO = "application/vnd.in-toto+json"


@dataclasses.dataclass(frozen=True)
class _Envelope:
    payload_type: str
    payload: bytes
    signature: bytes
    statement: dict[str, Any]


def verify_bundle(
    verifier: Verifier,
    bundle_json: str | bytes,
    digests: Mapping[str, str],
    publisher: Mapping[str, str] | None = None,
) -> AttestationResult:
    """Verify *bundle_json* for the file of *digests* (algorithm -> lowercase hex).

    Raises :class:`AttestationRefused` for a bundle to refuse (see the module
    docstring); returns an unverified result for one that cannot be verified.
    """
    bundle = _parse(bundle_json)
    envelope = _envelope(bundle_json)
    subject = _subject_for(envelope.statement, digests)
    certificate = bundle.signing_certificate
    _check_signature(certificate, envelope)
    result = AttestationResult(
        verified=False,
        predicate_type=str(envelope.statement.get("predicateType", "")),
        subject=subject,
        verified_at=_now(),
        environment=(publisher or {}).get("environment") or None,
    )
    try:
        verifier.verify_dsse(bundle, _AnySigner())
    except SigstoreError as exc:
        reason = f"the bundle could not be verified against the trust root: {exc}"
        if publisher is not None:
            raise AttestationRefused(f"attestation refused: {reason}") from None
        return dataclasses.replace(result, reason=reason)
    identity = identity_of(certificate)
    if publisher is not None:
        mismatch = publisher_mismatch(identity, publisher)
        if mismatch is not None:
            raise AttestationRefused(
                f"attestation refused: it does not come from this token's trusted publisher: "
                f"{mismatch}"
            )
    return dataclasses.replace(result, verified=True, identity=identity)


class _AnySigner:
    """A sigstore verification policy accepting every identity.

    The identity is read from the certificate and matched against the trusted
    publisher afterwards, with reasons a client can act on.
    """

    def verify(self, cert: x509.Certificate) -> None:
        return None


def _parse(bundle_json: str | bytes) -> Bundle:
    try:
        return Bundle.from_json(bundle_json)
    except (SigstoreError, ValueError) as exc:
        raise AttestationRefused(
            f"attestation refused: not a valid sigstore bundle: {exc}"
        ) from None


def _envelope(bundle_json: str | bytes) -> _Envelope:
    """The DSSE envelope of the bundle and the in-toto statement it carries (not yet trusted)."""
    try:
        document = json.loads(bundle_json)
        dsse = document["dsseEnvelope"]
        payload = base64.b64decode(dsse["payload"], validate=True)
        signatures = dsse["signatures"]
        if not isinstance(signatures, list) or len(signatures) != 1:
            raise ValueError("exactly one signature is expected")
        signature = base64.b64decode(signatures[0]["sig"], validate=True)
        payload_type = str(dsse["payloadType"])
        statement = json.loads(payload)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise AttestationRefused(
            f"attestation refused: no signed in-toto statement in the bundle ({exc})"
        ) from None
    if payload_type != IN_TOTO or not isinstance(statement, dict):
        raise AttestationRefused(
            f"attestation refused: payload type {payload_type!r} is not {IN_TOTO}"
        )
    return _Envelope(payload_type, payload, signature, statement)


def _subject_for(statement: Mapping[str, Any], digests: Mapping[str, str]) -> str:
    """The name of the statement's subject whose digest is the file's; refused if none is."""
    subjects = statement.get("subject")
    for subject in subjects if isinstance(subjects, list) else []:
        named = subject.get("digest") if isinstance(subject, dict) else None
        if not isinstance(named, dict):
            continue
        for algorithm, expected in digests.items():
            if str(named.get(algorithm, "")).lower() == expected.lower():
                return str(subject.get("name", ""))
    algorithms = " or ".join(sorted(digests))
    raise AttestationRefused(
        "attestation refused: it is for other bytes "
        f"(no subject has this file's {algorithms} digest)"
    )


def _check_signature(certificate: x509.Certificate, envelope: _Envelope) -> None:
    """The statement must be signed by the certificate's key (DSSE pre-authentication encoding)."""
    key = certificate.public_key()
    type_ = envelope.payload_type.encode()
    pae = b"DSSEv1 %d %b %d %b" % (len(type_), type_, len(envelope.payload), envelope.payload)
    try:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        key.verify(envelope.signature, pae, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AttestationRefused(
            "attestation refused: its signature does not match the signed statement "
            "(the bundle was altered)"
        ) from None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
