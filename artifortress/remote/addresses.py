"""Where the gateway may connect for an upstream: never a cloud metadata service.

A remote's upstream URL is set by a tenant administrator and the URLs of its
files come from upstream metadata (and redirects), so either could point the
gateway at an address of its own host or network and have the answer served
back (a generic remote verifies no checksum).  Upstreams on a private network
or on loopback are normal (an internal mirror, a test upstream); link-local
addresses, where cloud metadata services hand out the node's credentials
(169.254.169.254), and the metadata addresses outside that range are never
an upstream.  Every address a host resolves to is checked when the connection
is made, and the connection goes to a checked address, so a DNS answer that
changes between check and connect cannot reach one either.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError

from artifortress.webhooks.targets import IPAddress, embedded_ipv4

#: Metadata services outside the link-local range: AWS over IPv6, Alibaba Cloud.
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))


class AddressRefused(HTTPError):
    """The upstream's host is, or resolves to, an address the gateway never connects to."""


def refused(address: IPAddress) -> bool:
    """Link-local, a metadata service, unspecified or multicast (IPv4 carried in IPv6 too)."""
    if isinstance(address, ipaddress.IPv6Address):
        address = embedded_ipv4(address) or address
    return (
        address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address in _METADATA
    )


def _checked_addresses(host: str, port: int) -> list[str]:
    """Every address of *host*; AddressRefused if any of them is refused."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except OSError:
        return [host]  # unresolvable: the connection fails as it would have
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    bad = [a for a in addresses if refused(ipaddress.ip_address(a.split("%", 1)[0]))]
    if bad:
        raise AddressRefused(f"{host} is or resolves to a link-local or metadata address")
    return addresses


class _Guarded:
    """Connects only to checked addresses of its host (``_dns_host`` is urllib3's)."""

    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        wanted = self._dns_host
        error: Exception | None = None
        for address in _checked_addresses(wanted, self.port):
            self._dns_host = address
            try:
                return super()._new_conn()  # type: ignore[misc, no-any-return]
            except HTTPError as exc:  # the next address, as urllib3 tries each in turn
                error = exc
            finally:
                self._dns_host = wanted  # Host header, TLS name: the host as written
        assert error is not None
        raise error


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def guarded_pool(**options: Any) -> urllib3.PoolManager:
    """A PoolManager whose connections (redirects' too) reach no refused address."""
    pool = urllib3.PoolManager(**options)
    pool.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    return pool
