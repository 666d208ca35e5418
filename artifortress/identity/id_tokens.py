"""Validation of OpenID Connect ID tokens (OIDC Core 1.0 section 3.1.3.7), with PyJWT.

:class:`IssuerKeys` (one per process) knows each issuer's discovery document and signing keys:
fetched on first use, cached, and fetched again when a token names a key id the cache does not
know (the issuer rotated its keys), at most once per ``refetch_interval_seconds`` so a flood of
made-up key ids cannot turn the gateway into a JWKS hammer.

Only asymmetric algorithms from the caller's allow-list verify a signature: ``none`` and every
``HS*`` are refused before any key is looked at, which defeats "alg: none" and the HS256 forgery
that uses the issuer's public key as the HMAC secret.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt import PyJWK

from artifortress.identity.issuers import (
    DocumentFetcher,
    IssuerUnavailable,
    check_issuer_url,
    discovery_url,
)

DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
#: Never accepted, whatever a caller's allow-list says.
_FORBIDDEN_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub"]


class InvalidIdToken(Exception):
    """The token was refused; ``reason`` is safe to show to whoever presented it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenRules:
    """What a token must satisfy to be accepted by one relying party."""

    issuer: str  # the exact `iss`
    audience: str  # must be in `aud`
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_seconds: int = 30


@dataclass
class _Issuer:
    """What is known of one issuer: its discovery document and its keys by key id."""

    metadata: dict[str, Any]
    keys: list[dict[str, Any]] = field(default_factory=list)
    fetched_at: float = 0.0  # when the discovery document and JWKS were last fetched


class IssuerKeys:
    """Discovery documents and JWKS of the issuers this process trusts, cached."""

    def __init__(
        self,
        fetcher: DocumentFetcher | None = None,
        *,
        cache_seconds: float = 3600.0,
        refetch_interval_seconds: float = 5.0,
        wait_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        #: The HTTP client for an issuer's endpoints (also the token endpoint of sign-ins).
        self.fetcher = fetcher or DocumentFetcher()
        self._cache_seconds = cache_seconds
        self._refetch_interval = refetch_interval_seconds
        #: How long a request may wait for another's fetch of the same issuer, counted from
        #: when that fetch began (a request arriving later than this does not wait at all).
        self._wait_seconds = wait_seconds
        self._clock = clock
        self._issuers: dict[str, _Issuer] = {}
        #: Fetches under way (issuer -> when it began, set when it ends) and when each issuer
        #: was last tried, successful or not: a slow or failing issuer is tried at most once
        #: per refetch interval, and only one thread ever waits on it.
        self._in_flight: dict[str, tuple[float, threading.Event]] = {}
        self._tried_at: dict[str, float] = {}
        self._lock = threading.Lock()  # guards the dicts only, never held over a fetch

    # -- public API ------------------------------------------------------------------------

    def metadata(self, issuer: str) -> Mapping[str, Any]:
        """The issuer's discovery document (authorization and token endpoints, ...).

        Raises :class:`InvalidIdToken` when the issuer cannot be reached or is not one.
        """
        return self._known(issuer, refresh_if_older_than=self._cache_seconds).metadata

    def validate(
        self, token: str, rules: TokenRules, *, nonce: str | None = None
    ) -> dict[str, Any]:
        """The claims of *token* once its signature, issuer, audience and times check out.

        With *nonce*, the token's ``nonce`` claim must be exactly that (a replayed ID token of
        another sign-in carries another nonce).  Raises :class:`InvalidIdToken`.
        """
        header = _header(token)
        algorithm = _allowed_algorithm(header, rules)
        key = self._signing_key(rules.issuer, header.get("kid"), algorithm)
        claims = _decode(token, key, algorithm, rules)
        _check_authorized_party(claims, rules.audience)
        if nonce is not None and not _same(claims.get("nonce"), nonce):
            raise InvalidIdToken("the ID token's nonce does not match this sign-in")
        return claims

    def close(self) -> None:
        self.fetcher.close()

    # -- keys ------------------------------------------------------------------------------

    def _signing_key(self, issuer: str, kid: object, algorithm: str) -> PyJWK:
        known = self._known(issuer, refresh_if_older_than=self._cache_seconds)
        jwk = _find_key(known.keys, kid, algorithm)
        if jwk is None:
            # Perhaps the issuer rotated its keys since the last fetch: look again, rate-limited.
            known = self._known(issuer, refresh_if_older_than=self._refetch_interval)
            jwk = _find_key(known.keys, kid, algorithm)
        if jwk is None:
            raise InvalidIdToken("the ID token is signed with a key the issuer does not publish")
        if jwk.get("alg") not in (None, algorithm):
            raise InvalidIdToken("the ID token's algorithm does not match its signing key")
        try:
            return PyJWK(jwk, algorithm=algorithm)
        except (jwt.PyJWKError, jwt.InvalidKeyError):
            raise InvalidIdToken("the issuer's signing key cannot verify this algorithm") from None

    def _known(self, issuer: str, *, refresh_if_older_than: float) -> _Issuer:
        with self._lock:
            known = self._issuers.get(issuer)
            now = self._clock()
            if known is not None and now - known.fetched_at < refresh_if_older_than:
                return known
            in_flight = self._in_flight.get(issuer)
            tried_at = self._tried_at.get(issuer)
            fetch_now = in_flight is None and (
                tried_at is None or now - tried_at >= self._refetch_interval
            )
            if fetch_now:
                done = threading.Event()
                self._in_flight[issuer] = (now, done)
                self._tried_at[issuer] = now
        if not fetch_now:
            return self._fetched_by_another(issuer, in_flight)
        try:
            fresh = self._fetch(issuer)
        except IssuerUnavailable as exc:
            if known is not None:
                return known  # keep serving the keys we have while the issuer is away
            raise InvalidIdToken(f"the issuer cannot be reached: {exc}") from None
        finally:
            with self._lock:
                del self._in_flight[issuer]
            done.set()
        with self._lock:
            self._issuers[issuer] = fresh
        return fresh

    def _fetched_by_another(
        self, issuer: str, in_flight: tuple[float, threading.Event] | None
    ) -> _Issuer:
        """What is known once another request's fetch ends (waiting a bounded time), or the
        keys of an issuer tried too recently to be tried again; refused if none."""
        if in_flight is not None:
            began, done = in_flight
            done.wait(max(0.0, began + self._wait_seconds - self._clock()))
        with self._lock:
            known = self._issuers.get(issuer)
        if known is None:
            raise InvalidIdToken("the issuer cannot be reached just now; try again shortly")
        return known

    def _fetch(self, issuer: str) -> _Issuer:
        try:
            check_issuer_url(issuer)
        except ValueError as exc:
            raise IssuerUnavailable(str(exc)) from None
        metadata = self.fetcher.get_json(discovery_url(issuer))
        if metadata.get("issuer") != issuer:
            # Discovery section 4.3: the document must name exactly the issuer asked for.
            raise IssuerUnavailable("its discovery document names another issuer")
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailable("its discovery document has no jwks_uri")
        keys = self.fetcher.get_json(jwks_uri).get("keys")
        if not isinstance(keys, list):
            raise IssuerUnavailable("its JWKS has no keys")
        usable = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        return _Issuer(metadata=metadata, keys=usable, fetched_at=self._clock())


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except (jwt.DecodeError, UnicodeEncodeError):  # a lone surrogate cannot be encoded
        raise InvalidIdToken("the ID token is not a well-formed JWT") from None


def _allowed_algorithm(header: Mapping[str, Any], rules: TokenRules) -> str:
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm in _FORBIDDEN_ALGORITHMS:
        raise InvalidIdToken(f"the ID token's algorithm {algorithm!r} is not accepted")
    if algorithm not in rules.algorithms:
        raise InvalidIdToken(f"the ID token's algorithm {algorithm!r} is not accepted")
    return algorithm


def _find_key(keys: list[dict[str, Any]], kid: object, algorithm: str) -> dict[str, Any] | None:
    if kid is not None:
        return next((k for k in keys if k.get("kid") == kid), None)
    # No kid: acceptable only when exactly one published key could have signed it.
    candidates = [k for k in keys if k.get("alg") in (None, algorithm)]
    return candidates[0] if len(candidates) == 1 else None


def _decode(token: str, key: PyJWK, algorithm: str, rules: TokenRules) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=rules.audience,
            issuer=rules.issuer,
            leeway=rules.leeway_seconds,
            options={"require": _REQUIRED_CLAIMS, "strict_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidIdToken("the ID token has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidIdToken("the ID token is not valid yet") from None
    except jwt.InvalidAudienceError:
        raise InvalidIdToken("the ID token is for another audience") from None
    except jwt.InvalidIssuerError:
        raise InvalidIdToken("the ID token is from another issuer") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidIdToken(f"the ID token has no {exc.claim!r} claim") from None
    except jwt.InvalidSignatureError:
        raise InvalidIdToken("the ID token's signature does not verify") from None
    except jwt.InvalidTokenError:
        raise InvalidIdToken("the ID token is malformed") from None
    return claims


def _check_authorized_party(claims: Mapping[str, Any], audience: str) -> None:
    """OIDC Core 3.1.3.7 items 4-5: with several audiences, ``azp`` must name us.

    With one audience ``azp`` is left alone: CI issuers put other values there.
    """
    audiences = claims.get("aud")
    if isinstance(audiences, list) and len(audiences) > 1 and claims.get("azp") != audience:
        raise InvalidIdToken("the ID token was issued to another client (azp)")


def _same(value: object, expected: str) -> bool:
    return isinstance(value, str) and hmac.compare_digest(value.encode(), expected.encode())
