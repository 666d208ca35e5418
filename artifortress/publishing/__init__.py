"""Trusted publishing: CI jobs trade their OIDC ID token for a short-lived upload token.

A repository admin registers publishers (an issuer and the claims its tokens must carry);
the exchange (``/_/oidc/mint-token`` as PyPI answers it, ``/v1/oidc/token``) verifies the
ID token with :mod:`artifortress.identity.id_tokens`, refuses replays, and mints a signed
token that may only publish to that repository, acting as the publisher's service user.
"""
