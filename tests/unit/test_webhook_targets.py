"""Webhook targets: which addresses are allowed, and that every resolved address is checked."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import pytest

from artifortress.errors import ValidationFailed
from artifortress.webhooks.delivery import signature
from artifortress.webhooks.targets import (
    InvalidHost,
    TargetRefused,
    address_allowed,
    canonical_host,
    check_url,
    connection,
    resolve,
)


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


#: Hosts a resolver reads as a loopback, private or embedded-private target, however written.
DISGUISED = {
    # inet_aton(3) forms of 127.0.0.1: one, two or three parts, hexadecimal, octal.
    "0x7f000001": "127.0.0.1",
    "0X7F000001": "127.0.0.1",
    "2130706433": "127.0.0.1",
    "0177.0.0.1": "127.0.0.1",
    "127.1": "127.0.0.1",
    "0x7f.1": "127.0.0.1",
    "127.0.1": "127.0.0.1",
    "017700000001": "127.0.0.1",
    "127.0.0.1.": "127.0.0.1",
    "0xa.0x0.0x0.0x1": "10.0.0.1",
    "0251.0376.0251.0376": "169.254.169.254",
    # Full-width digits and dots, ideographic full stops (UTS #46 maps them to ASCII).
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11": "127.0.0.1",
    "127\u30020\u30020\u30021": "127.0.0.1",
    "127\uff0e0\uff0e0\uff0e1": "127.0.0.1",
    "\uff10\uff58\uff17\uff46\uff10\uff10\uff10\uff10\uff10\uff11": "127.0.0.1",
    # Look-alikes of localhost: full-width, circled, Roman numeral fifty, a soft hyphen.
    "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54": "localhost",
    "\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3": "localhost",
    "\u217cocalhost": "localhost",
    "local\u00adhost": "localhost",
    "api.\uff2c\uff2f\uff23\uff21\uff2c\uff28\uff2f\uff33\uff34": "api.localhost",
    # IPv6 forms, IPv4-mapped and the other carriers of an IPv4 address.
    "[::1]": "::1",
    "[0:0:0:0:0:0:0:1]": "::1",
    "[::ffff:127.0.0.1]": "::ffff:7f00:1",
    "[::ffff:7f00:1]": "::ffff:7f00:1",
    "[0:0:0:0:0:ffff:7f00:1]": "::ffff:7f00:1",
    "[::127.0.0.1]": "::7f00:1",
    "[::ffff:0:a00:1]": "::ffff:0:a00:1",
    "[64:ff9b::a00:1]": "64:ff9b::a00:1",
    "[64:ff9b:1::5db8:d822]": "64:ff9b:1::5db8:d822",
    "[2002:7f00:1::1]": "2002:7f00:1::1",
    "[fe80::1%25eth0]": "fe80::1%25eth0",
}


@pytest.mark.parametrize(("host", "reads_as"), DISGUISED.items())
def test_disguised_private_hosts_are_refused_at_creation(host, reads_as):
    url = f"http://{host}:8080/hook"
    assert str(canonical_host(urlsplit(url).hostname)) == reads_as
    with pytest.raises(ValidationFailed, match="may not target") as refused:
        check_url(url, allow_private=False)
    assert reads_as in refused.value.message  # the answer says what the host really is
    check_url(url, allow_private=True)  # an operator who allows private targets may use them


@pytest.mark.parametrize("host", DISGUISED)
def test_delivery_refuses_them_too_without_asking_dns(host, monkeypatch):
    def no_dns(*args, **kwargs):
        raise AssertionError("a host that is an address or localhost needs no DNS")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(TargetRefused, match="may not target"):
        connection(urlsplit(f"https://{host}/hook"), allow_private=False, timeout=1)


@pytest.mark.parametrize(
    "text",
    [
        "127.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.1",
        "1.2.3.4",
        "0",
        "0x0.0",
        "0xff.0xffffff",
        "255.255.65535",
        "00.0.0.00",
    ],
)
def test_numeric_hosts_are_read_as_inet_aton_reads_them(text):
    assert canonical_host(text) == ipaddress.IPv4Address(socket.inet_aton(text))


@pytest.mark.parametrize(
    "text", ["0x", "08.0.0.1", "4294967296", "1.2.3.256", "1.2.3.4.5", "1.2.65536", "0x1.0x100.1"]
)
def test_numbers_inet_aton_refuses_are_invalid_hosts(text):
    with pytest.raises(OSError):
        socket.inet_aton(text)
    with pytest.raises(InvalidHost):
        canonical_host(text)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/",  # urlsplit: Invalid IPv6 URL
        "http://[localhost]/",
        "http://a\uff03b/",  # a full-width # that NFKC makes a fragment
        "http://127.0.0.1 x/",
        "http://a..b/",
        "http://exa%6dple.com/",
        "http://foo.123/",  # ends in a number, so an address, but not one
        "http://\u24882.0.0.1/",  # a character UTS #46 disallows
        "http://a\u200db.example/",  # a joiner where IDNA forbids it
        "http://" + "a" * 64 + ".example/",
        "http://" + "a." * 127 + "example/",
    ],
)
def test_malformed_hosts_are_a_clear_400(url):
    with pytest.raises(ValidationFailed, match="webhook URL"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("host", "reads_as"),
    [
        ("hooks.example.com", "hooks.example.com"),
        ("\uff28\uff2f\uff2f\uff2b\uff33.example.com", "hooks.example.com"),
        ("b\u00fccher.example", "xn--bcher-kva.example"),
        ("build_agents.example.com", "build_agents.example.com"),
        ("0x5db8d822", "93.184.216.34"),
        ("[64:ff9b::5db8:d822]", "64:ff9b::5db8:d822"),
        ("[2606:4700::1111]", "2606:4700::1111"),
    ],
)
def test_public_hosts_pass_in_their_canonical_form(host, reads_as):
    parts = check_url(f"https://{host}/x", allow_private=False)
    assert str(canonical_host(parts.hostname)) == reads_as


def test_delivery_resolves_and_names_the_host_it_checked(monkeypatch):
    asked = []

    def public(host, port, type=0):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", public)
    url = "https://\uff28\uff2f\uff2f\uff2b\uff33.example.com/x"
    conn = connection(urlsplit(url), allow_private=False, timeout=1)
    assert asked == ["hooks.example.com"]
    assert conn.host == "hooks.example.com"  # Host header and TLS server name
