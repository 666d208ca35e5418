"""The identity plane: OpenID Connect providers, ID token validation, sign-in flows.

``id_tokens`` validates ID tokens of any OIDC issuer (discovery, JWKS with rotation, an
algorithm allow-list); trusted publishing and attestation checks build on it.  The rest of the
package signs people in through configured providers (web UI and ``artifortress login --oidc``).
"""
