"""Verifying attestations (sigstore bundles) for the files a plugin is about to store."""

from __future__ import annotations

from collections.abc import Mapping

from artifortress.attestations.results import AttestationResult
from artifortress.plugin.gateway.base import GatewayBase


class AttestationsGateway(GatewayBase):
    """Offline verification of sigstore bundles against the configured trust root."""

    def verify_attestation(
        self, bundle: str | bytes, *, digests: Mapping[str, str]
    ) -> AttestationResult:
        """Verify a sigstore *bundle* (JSON) for the file whose *digests* are given.

        *digests* maps algorithm names as in-toto writes them (``sha256``,
        ``sha512``) to lowercase hex. Checks the certificate chain against the
        trust root (``ARTIFORTRESS_SIGSTORE_TRUSTED_ROOT``), the transparency log
        entry, the signature over the in-toto statement, that a subject carries the
        file's digest and, when the caller's token was minted for a trusted
        publisher (``Principal.publisher``), that this publisher signed it.

        Raises ``BadRequest`` (a subclass, code ``attestation_refused``) for a bundle
        to refuse: malformed, for other bytes, altered, or signed by someone other
        than the trusted publisher. Returns ``verified=False`` with a ``reason`` for
        an intact bundle whose chain of trust cannot be established. Nothing
        touches the network. Format-specific checks (the subject's name, the
        predicate type) are the plugin's.
        """
        # Here, not at import: sigstore loads boto3 and more, which no other request needs.
        from artifortress.attestations.trust import verifier_for
        from artifortress.attestations.verify import verify_bundle

        verifier = verifier_for(self._ctx.services.settings.sigstore_trusted_root)
        return verify_bundle(verifier, bundle, digests, self.principal.publisher)
