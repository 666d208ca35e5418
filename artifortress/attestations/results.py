"""What verifying an attestation concludes: importable without sigstore.

sigstore (through securesystemslib's signers) pulls in boto3 and more: a
worker loads it on its first verification, not at start
(``artifortress.attestations.verify`` holds what needs it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from artifortress.attestations.identity import SigningIdentity
from artifortress.errors import BadRequest


class AttestationRefused(BadRequest):
    """The bundle is malformed, for other bytes, altered, or from another publisher."""

    code = "attestation_refused"


@dataclasses.dataclass(frozen=True)
class AttestationResult:
    """What verifying one bundle established, stored with the file it attests."""

    verified: bool
    predicate_type: str
    #: The statement's subject naming the file (a file name, or ``pkg:npm/name@version``).
    subject: str
    verified_at: str
    #: The signer, when ``verified``; an unverified bundle's claims are not kept.
    identity: SigningIdentity | None = None
    #: Why it is unverified.
    reason: str | None = None
    #: The trusted publisher's environment (not in the certificate), when one published.
    environment: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "predicate_type": self.predicate_type,
            "subject": self.subject,
            "verified_at": self.verified_at,
            "identity": self.identity.as_json() if self.identity else None,
            "reason": self.reason,
            "environment": self.environment,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttestationResult:
        identity = data.get("identity")
        return cls(
            verified=data.get("verified") is True,
            predicate_type=str(data.get("predicate_type") or ""),
            subject=str(data.get("subject") or ""),
            verified_at=str(data.get("verified_at") or ""),
            identity=SigningIdentity.from_json(identity) if isinstance(identity, dict) else None,
            reason=data.get("reason"),
            environment=data.get("environment"),
        )
