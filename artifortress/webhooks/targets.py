"""Where a webhook may point: http(s) URLs whose every address is public (unless allowed).

The URL is checked when a subscription is created (scheme, host, literal
addresses) and again at each delivery, after resolving the host: every
address it resolves to must pass, and the connection goes to a checked
address, so a DNS answer that changes between check and connect cannot
redirect a delivery into the internal network.

Both checks read the host the way a resolver would (:func:`canonical_host`):
``0x7f000001``, ``127.1`` and ``127.0.0.1`` in full-width digits are all
127.0.0.1, ``localhost`` in full-width letters is ``localhost``, and the
delivery resolves and connects to exactly the name that was checked.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from urllib.parse import SplitResult, urlsplit

import idna

from artifortress.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: A URL's host as a resolver sees it: an address, or a lower-case ASCII name (A-labels).
Host = IPAddress | str


class TargetRefused(Exception):
    """The target is not allowed (private address, bad scheme) or cannot be resolved."""


class InvalidHost(ValueError):
    """The URL's host is neither an address nor a name that a resolver would look up."""


def check_url(url: str, *, allow_private: bool) -> SplitResult:
    """Validate a subscription URL without resolving it; 400 naming the problem."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:  # a bad port, "[::1", NFKC characters that make "/", "@"...
        raise ValidationFailed(f"the webhook URL is malformed: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed("webhook URLs must start with http:// or https://")
    if not parts.hostname:
        raise ValidationFailed("the webhook URL names no host")
    if parts.username or parts.password:
        raise ValidationFailed("the webhook URL must not carry credentials; use the secret")
    try:
        host = canonical_host(parts.hostname)
    except InvalidHost as exc:
        raise ValidationFailed(f"the webhook URL's host is invalid: {exc}") from None
    problem = refusal(parts.hostname, host, allow_private=allow_private)
    if problem is not None:
        raise ValidationFailed(problem)
    return parts


def refusal(written: str, host: Host, *, allow_private: bool) -> str | None:
    """Why *host* (the canonical form of *written*) may not be a target, or None."""
    shown = written if str(host) == written else f"{written} (that is {host})"
    if isinstance(host, str):
        if _is_localhost(host) and not allow_private:
            return f"webhooks may not target {shown}: localhost names are non-public"
        return None
    if not address_allowed(host, allow_private=allow_private):
        return f"webhooks may not target {shown}: a non-public address"
    return None


def address_allowed(address: IPAddress, *, allow_private: bool) -> bool:
    """Public unicast always; private, loopback and link-local only if the operator allows.

    An IPv6 address that carries an IPv4 address to reach (mapped, compatible,
    translated, NAT64, 6to4) is judged by that IPv4 address.
    """
    if isinstance(address, ipaddress.IPv6Address):
        address = embedded_ipv4(address) or address
    if address.is_multicast or address.is_unspecified:
        return False
    return allow_private or (address.is_global and address not in _LOCAL_NAT64)


#: IPv6 prefixes whose last 32 bits are the IPv4 address a packet ends up at:
#: IPv4-mapped, IPv4-compatible (deprecated), IPv4-translated (SIIT), NAT64 (RFC 6052).
_IPV4_CARRIERS = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in ("::ffff:0:0/96", "::/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
#: NAT64 prefix for local use (RFC 8215): the IPv4 side is whatever the network makes it.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to reach (6to4, mapped, NAT64...), if any."""
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in carrier for carrier in _IPV4_CARRIERS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def resolve(host: Host, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Every address of the canonical *host*; refused if any of them is not allowed."""
    problem = refusal(str(host), host, allow_private=allow_private)
    if problem is not None:
        raise TargetRefused(problem)
    if not isinstance(host, str):
        return [host]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    refused = [str(a) for a in addresses if not address_allowed(a, allow_private=allow_private)]
    if refused or not addresses:
        raise TargetRefused(f"{host} resolves to non-public addresses {refused}; refused")
    return addresses


# -- host names as a resolver reads them ----------------------------------------------------


def canonical_host(hostname: str) -> Host:
    """The address or name a resolver would look up for a URL's *hostname*.

    - A host with ``:`` can only be a bracketed IPv6 literal.
    - Names are mapped as IDNA (UTS #46) does: full-width and other compatibility
      characters become ASCII, case folds, ignorable characters (soft hyphen)
      vanish, ideographic full stops separate labels; then A-labels.
    - A name ending in a number is an IPv4 address read as ``inet_aton(3)``
      reads it (``127.1``, ``0x7f000001``, ``2130706433``, ``0177.0.0.1``),
      as resolvers, browsers and curl read it; one that does not parse is invalid.
    """
    if ":" in hostname:
        try:
            return ipaddress.IPv6Address(hostname)
        except ValueError:
            raise InvalidHost(f"{hostname} is not an IPv6 address") from None
    name = _ascii_name(hostname)
    if _ends_in_number(name):
        return _inet_aton(name.removesuffix("."))
    return name


_MAX_NAME = 253
_ASCII_LABEL = re.compile(r"[a-z0-9_-]{1,63}")


def _ascii_name(hostname: str) -> str:
    """*hostname* mapped by UTS #46 and written in A-labels; InvalidHost if it cannot be."""
    try:
        mapped = idna.uts46_remap(hostname, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise InvalidHost(f"{hostname!r} is not a valid host name ({exc})") from None
    labels = mapped.split(".")
    if labels[-1] == "":  # one trailing dot: a fully qualified name
        labels.pop()
    name = ".".join(_a_label(hostname, label) for label in labels)
    if len(name) > _MAX_NAME:
        raise InvalidHost(f"the host name is longer than {_MAX_NAME} characters")
    return name + "." if mapped.endswith(".") else name


def _a_label(hostname: str, label: str) -> str:
    if label.isascii():
        if _ASCII_LABEL.fullmatch(label):
            return label
        raise InvalidHost(f"{hostname!r} is not a valid host name ({label!r})")
    try:
        return idna.alabel(label).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidHost(f"{hostname!r} is not a valid host name ({exc})") from None


_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")


def _ends_in_number(name: str) -> bool:
    """True if the last label is a number, which makes the whole name an IPv4 address."""
    return _NUMBER.fullmatch(name.removesuffix(".").rpartition(".")[2]) is not None


def _inet_aton(name: str) -> ipaddress.IPv4Address:
    """*name* as ``inet_aton(3)`` reads it: 1 to 4 numbers, the last one filling the rest."""
    texts = name.split(".")
    if len(texts) > 4:
        raise InvalidHost(f"{name} has more than 4 parts, so it is no IPv4 address")
    *leading, last = [_aton_number(name, text) for text in texts]
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (4 - len(leading))):
        raise InvalidHost(f"{name} is out of range for an IPv4 address")
    value = last
    for index, number in enumerate(leading):
        value |= number << (24 - 8 * index)
    return ipaddress.IPv4Address(value)


def _aton_number(name: str, text: str) -> int:
    """One part: hexadecimal after ``0x``, octal after ``0``, else decimal."""
    if re.fullmatch(r"0x[0-9a-f]+", text):
        return int(text[2:], 16)
    if re.fullmatch(r"0[0-7]*", text):
        return int(text, 8)
    if re.fullmatch(r"[1-9][0-9]*", text):
        return int(text)
    raise InvalidHost(f"{name} ends in a number but is not an IPv4 address")


def _is_localhost(name: str) -> bool:
    name = name.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


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
    if not parts.hostname or parts.scheme not in ("http", "https"):
        raise TargetRefused(f"not an http(s) URL: {parts.geturl()}")
    try:
        host = canonical_host(parts.hostname)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:  # InvalidHost, or a bad port
        raise TargetRefused(str(exc)) from None
    address = resolve(host, port, allow_private=allow_private)[0]
    # The Host header and the TLS server name carry the name that was checked.
    if parts.scheme == "https":
        return PinnedHTTPSConnection(str(host), port, address, timeout)
    return PinnedHTTPConnection(str(host), port, address, timeout)
