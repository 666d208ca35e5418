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
``ARTIFORTRESS_UPSTREAM_ALLOW_PRIVATE=false`` refuses every non-public address
too, for installations whose tenant administrators must not reach the
gateway's own network.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError

from artifortress.webhooks.targets import IPAddress, address_allowed, embedded_ipv4

#: Metadata services outside the link-local range: AWS over IPv6, Alibaba Cloud.
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))


class AddressRefused(HTTPError):
    """The upstream's host is, or resolves to, an address the gateway never connects to."""


def refused(address: IPAddress, *, allow_private: bool = True) -> bool:
    """Link-local, a metadata service, unspecified or multicast (IPv4 carried in IPv6 too).

    Without *allow_private*, also every address that is not public
    (``ARTIFORTRESS_UPSTREAM_ALLOW_PRIVATE=false``, for installations whose
    tenant administrators must not reach the gateway's own network).
    """
    if isinstance(address, ipaddress.IPv6Address):
        address = embedded_ipv4(address) or address
    if address.is_link_local or address in _METADATA:
        return True
    return not address_allowed(address, allow_private=allow_private)


def _checked_addresses(host: str, port: int, allow_private: bool) -> list[str]:
    """Every address of *host*; AddressRefused if any of them is refused."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except OSError:
        return [host]  # unresolvable: the connection fails as it would have
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        if refused(ipaddress.ip_address(address.split("%", 1)[0]), allow_private=allow_private):
            what = "a link-local or metadata" if allow_private else "a non-public"
            raise AddressRefused(f"{host} is or resolves to {what} address")
    return addresses


class _Guarded:
    """Connects only to checked addresses of its host (``_dns_host`` is urllib3's)."""

    _dns_host: str
    port: int
    #: Whether private and loopback addresses are allowed (set per pool class).
    allow_private = True

    def _new_conn(self) -> socket.socket:
        wanted = self._dns_host
        error: Exception | None = None
        for address in _checked_addresses(wanted, self.port, self.allow_private):
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


class _PublicHTTPConnection(_GuardedHTTPConnection):
    allow_private = False


class _PublicHTTPSConnection(_GuardedHTTPSConnection):
    allow_private = False


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


def guarded_pool(allow_private: bool = True, **options: Any) -> urllib3.PoolManager:
    """A PoolManager whose connections (redirects' too) reach no refused address."""
    pool = urllib3.PoolManager(**options)
    if allow_private:
        pool.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    else:
        pool.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}
    return pool
