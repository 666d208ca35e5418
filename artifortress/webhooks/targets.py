"""Where a webhook may point: http(s) URLs whose every address is public (unless allowed).

The URL is checked when a subscription is created (scheme, host, literal
addresses) and again at each delivery, after resolving the host: every
address it resolves to must pass, and the connection goes to a checked
address, so a DNS answer that changes between check and connect cannot
redirect a delivery into the internal network.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import SplitResult, urlsplit

from artifortress.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The target is not allowed (private address, bad scheme) or cannot be resolved."""


def check_url(url: str, *, allow_private: bool) -> SplitResult:
    """Validate a subscription URL without resolving it; 400 naming the problem."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed("webhook URLs must start with http:// or https://")
    if not parts.hostname:
        raise ValidationFailed("the webhook URL names no host")
    if parts.username or parts.password:
        raise ValidationFailed("the webhook URL must not carry credentials; use the secret")
    try:
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ValidationFailed("the webhook URL has an invalid port") from None
    literal = _literal_address(parts.hostname)
    if literal is not None and not address_allowed(literal, allow_private=allow_private):
        raise ValidationFailed(f"webhooks may not target {literal} (a non-public address)")
    if _is_localhost(parts.hostname) and not allow_private:
        raise ValidationFailed("webhooks may not target localhost")
    return parts


def address_allowed(address: IPAddress, *, allow_private: bool) -> bool:
    """Public unicast always; private, loopback and link-local only if the operator allows."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_multicast or address.is_unspecified:
        return False
    return allow_private or address.is_global


def resolve(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Every address of *host*; refused if any of them is not allowed."""
    literal = _literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise TargetRefused(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    refused = [str(a) for a in addresses if not address_allowed(a, allow_private=allow_private)]
    if refused or not addresses:
        raise TargetRefused(f"{host} resolves to non-public addresses {refused}; refused")
    return addresses


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_localhost(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to *address*, while the ``Host`` header keeps the URL's host name."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to *address*, verifying the certificate against the URL's host name."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((str(self._address), self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def connection(
    parts: SplitResult, *, allow_private: bool, timeout: float
) -> http.client.HTTPConnection:
    """A connection to a checked address of the URL's host (not yet connected)."""
    host = parts.hostname
    if not host or parts.scheme not in ("http", "https"):
        raise TargetRefused(f"not an http(s) URL: {parts.geturl()}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(host, port, allow_private=allow_private)[0]
    if parts.scheme == "https":
        return PinnedHTTPSConnection(host, port, address, timeout)
    return PinnedHTTPConnection(host, port, address, timeout)
