"""Webhook targets: which addresses are allowed, and that every resolved address is checked."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from artifortress.errors import ValidationFailed
from artifortress.webhooks.delivery import signature
from artifortress.webhooks.targets import TargetRefused, address_allowed, check_url, resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_refused_unless_allowed(address):
    ip = ipaddress.ip_address(address)
    assert not address_allowed(ip, allow_private=False)
    assert address_allowed(ip, allow_private=True)


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.1", "::", "ff02::1"])
def test_unspecified_and_multicast_are_always_refused(address):
    assert not address_allowed(ipaddress.ip_address(address), allow_private=True)


def test_public_addresses_are_allowed():
    assert address_allowed(ipaddress.ip_address("93.184.216.34"), allow_private=False)
    assert address_allowed(ipaddress.ip_address("2606:4700::1111"), allow_private=False)


def test_a_name_is_refused_if_any_of_its_addresses_is_private(monkeypatch):
    def fake(host, port, type=0):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.7"):
        resolve("mixed.example", 443, allow_private=False)
    assert len(resolve("mixed.example", 443, allow_private=True)) == 2


def test_urls_are_checked_without_resolving():
    assert check_url("https://hooks.example.com/x", allow_private=False).hostname == (
        "hooks.example.com"
    )
    for url in ("gopher://x/", "https://u:p@x/", "http://10.0.0.1/", "http://LOCALHOST./"):
        with pytest.raises(ValidationFailed):
            check_url(url, allow_private=False)
    assert check_url("http://10.0.0.1/", allow_private=True).port is None


def test_the_signature_is_hmac_sha256_of_the_body():
    assert signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )
