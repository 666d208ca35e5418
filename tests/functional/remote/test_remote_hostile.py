"""Hostile upstreams and upstream URLs: where the gateway must never connect.

A tenant administrator sets a remote's upstream URL, and upstream metadata
and redirects choose where its files come from: none of them may make the
gateway read a cloud metadata service (link-local addresses, and the few
metadata addresses outside that range) and serve the answer back.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json

import pytest

from artifortress.remote.addresses import refused
from artifortress.remote.client import Timeouts, UpstreamClient
from artifortress.remote.errors import UpstreamUnavailable

BYTES = b"the file"


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.0.1",
        "fe80::1",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "fd00:ec2::254",  # AWS metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "0.0.0.0",
        "::",
        "224.0.0.1",
    ],
)
def test_link_local_metadata_unspecified_and_multicast_addresses_are_refused(address):
    assert refused(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.9", "151.101.0.223"]
)
def test_loopback_private_and_public_upstreams_are_allowed(address):
    assert not refused(ipaddress.ip_address(address))


def test_an_upstream_url_at_the_metadata_service_is_refused(admin, make_remote):
    make_remote("up", url="http://169.254.169.254/latest/")
    answer = admin.get("/upstreamtest/up/file/creds/1/creds?sha256=" + "0" * 64)
    assert answer.status_code == 502, answer.text
    assert "link-local" in answer.json["error"]["message"]
    assert admin.get("/upstreamtest/up/doc/meta-data").status_code == 502


def test_metadata_pointing_a_file_at_the_metadata_service_is_refused(admin, make_remote, upstream):
    make_remote("up")
    for target in ("http://169.254.169.254/x", "http://[::ffff:169.254.169.254]/x"):
        answer = admin.get(f"/upstreamtest/up/file/p/1/x?from={target}")
        assert answer.status_code == 502, answer.text
        assert "link-local" in answer.json["error"]["message"]
    assert admin.get("/v1/repos/up/packages/p").status_code == 404


def test_a_redirect_to_the_metadata_service_is_not_followed(admin, make_remote, upstream):
    make_remote("up")
    moved = {"Location": "http://169.254.169.254/latest/meta-data/"}
    upstream.serve("/files/f.bin", b"", status=302, headers=moved)
    upstream.serve("/docs/d", b"", status=302, headers=moved)
    answer = admin.get("/upstreamtest/up/file/p/1/f.bin")
    assert answer.status_code == 502, answer.text
    assert "link-local" in answer.json["error"]["message"]
    assert admin.get("/upstreamtest/up/doc/d").status_code == 502
    assert admin.get("/v1/repos/up/packages/p").status_code == 404


def test_a_redirect_on_the_upstreams_network_is_followed(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve("/files/old.bin", b"", status=302, headers={"Location": "/files/new.bin"})
    upstream.serve("/files/new.bin", BYTES)
    answer = admin.get("/upstreamtest/up/file/p/1/old.bin")
    assert (answer.status_code, answer.content) == (200, BYTES)


@pytest.mark.parametrize("route", ["file", "stream"])
@pytest.mark.parametrize(
    ("version", "filename"),
    [("1.0%0D%0AX-Evil:%201", "f.bin"), ("..", "f.bin"), ("a" * 200, "f.bin"), ("1.0", "%2E%2E")],
)
def test_a_version_or_file_name_the_remote_cannot_hold_is_refused_before_any_fetch(
    admin, make_remote, upstream, route, version, filename
):
    """Such names come from upstream metadata (an npm packument's versions): a 400, no download.

    They used to be fetched in full and refused at publication: a streamed
    response then broke off after the body, with an error logged.
    """
    make_remote("up")
    upstream.serve("/files/f.bin", BYTES)
    upstream.serve("/files/..", BYTES)
    answer = admin.get(f"/upstreamtest/up/{route}/p/{version}/{filename}")
    assert answer.status_code == 400, answer.text
    assert upstream.hits["/files/f.bin"] == upstream.hits["/files/.."] == 0


@pytest.mark.parametrize("route", ["file", "stream"])
def test_a_file_labelled_content_encoding_gzip_is_kept_as_sent(admin, make_remote, upstream, route):
    """A .tar.gz served with ``Content-Encoding: gzip`` is the .tar.gz its index hashed.

    Decoded, it failed its sha256 (or, unchecked, was kept as the tar inside),
    and a small compressed body (a bomb) became a file of any size on disk.
    """
    make_remote("up")
    archive = gzip.compress(b"\0" * 1_000_000)  # what a 1 MB file of zeros compresses to
    upstream.serve("/files/a.tar.gz", archive, headers={"Content-Encoding": "gzip"})
    sha256 = hashlib.sha256(archive).hexdigest()
    answer = admin.get(f"/upstreamtest/up/{route}/a/1.0/a.tar.gz?sha256={sha256}")
    assert answer.status_code == 200, answer.text
    assert answer.content == archive
    version = admin.get("/v1/repos/up/packages/a/versions/1.0").json
    assert version["artifacts"][0]["size"] == len(archive)


def test_user_information_in_a_file_url_is_never_recorded(admin, make_remote, upstream):
    """Metadata may name a file as http://user:token@host/...: the provenance must not show it."""
    make_remote("up")
    upstream.serve("/files/f.bin", BYTES)
    secret_url = upstream.url.replace("http://", "http://bot:s3cr3t-token@") + "files/f.bin"
    answer = admin.get("/upstreamtest/up/file/p/1/f.bin", params={"from": secret_url})
    assert (answer.status_code, answer.content) == (200, BYTES), answer.text
    version = admin.get("/v1/repos/up/packages/p/versions/1").json
    assert version["metadata"]["upstream"]["url"] == upstream.url + "files/f.bin"
    assert "s3cr3t" not in json.dumps(version)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "100.64.0.1", "fc00::1"])
def test_without_private_upstreams_only_public_addresses_are_allowed(address):
    assert refused(ipaddress.ip_address(address), allow_private=False)
    assert not refused(ipaddress.ip_address("151.101.0.1"), allow_private=False)


def test_upstream_allow_private_false_keeps_the_gateway_out_of_its_own_network(upstream):
    """ARTIFORTRESS_UPSTREAM_ALLOW_PRIVATE=false: an upstream on loopback is never connected to."""
    upstream.serve("/files/f.bin", BYTES)
    client = UpstreamClient(Timeouts(connect=1, read=1, retries=0), allow_private=False)
    try:
        with pytest.raises(UpstreamUnavailable, match="non-public"):
            client.get(upstream.url + "files/f.bin")
    finally:
        client.close()
    assert upstream.hits["/files/f.bin"] == 0
