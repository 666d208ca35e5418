"""Attestation plane: verifying sigstore bundles (PEP 740, npm provenance) fully offline.

The format plugins parse their protocol's attestation shape and hand the core a
sigstore bundle through ``Gateway.verify_attestation``; this plane checks it
against the configured trust root (certificate chain, transparency log
inclusion, signature), against the stored file's digest and, for an upload made
with a trusted-publishing token, against the publisher the token was minted for.
"""
