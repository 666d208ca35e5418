"""The promises of upstream metadata about a file's bytes: sha256 and npm SRI integrity."""

from __future__ import annotations

import base64
import hashlib

import pytest

from artifortress.remote.checksums import BadIntegrity, Checksums, declared, parse_integrity

DATA = b"package bytes"


def sri(algorithm: str, data: bytes = DATA) -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def checked(**promised: str) -> Checksums:
    checks = Checksums(**promised)
    for _ in checks.through([DATA[:5], DATA[5:]]):
        pass
    return checks


def test_matching_promises_pass():
    assert checked(sha256=hashlib.sha256(DATA).hexdigest().upper()).mismatch() is None
    assert checked(integrity=sri("sha512")).mismatch() is None
    assert checked(integrity=sri("sha1")).mismatch() is None
    assert checked().sha256 == hashlib.sha256(DATA).hexdigest()


def test_a_wrong_sha256_or_integrity_is_a_mismatch():
    assert "sha256" in (checked(sha256="0" * 64).mismatch() or "")
    assert "sha512" in (checked(integrity=sri("sha512", b"other")).mismatch() or "")


def test_a_mismatch_names_the_digest_promised_never_the_one_received():
    """The message reaches clients: it must not reveal the hash of what the upstream sent."""
    actual_sha256 = hashlib.sha256(DATA).hexdigest()
    assert checked(sha256="0" * 64).mismatch() == (
        f"bytes that differ from the sha256 {'0' * 64} announced"
    )
    message = checked(integrity=sri("sha512", b"other")).mismatch() or ""
    assert message == "bytes that differ from the sha512 integrity announced"
    for received in (actual_sha256, sri("sha512").partition("-")[2]):
        assert received not in (checked(sha256="0" * 64).mismatch() or "")
        assert received not in message


def test_the_strongest_algorithm_decides():
    # A matching sha1 does not excuse a wrong sha512 (SRI picks the strongest).
    assert checked(integrity=f"{sri('sha1')} {sri('sha512', b'x')}").mismatch() is not None
    assert checked(integrity=f"{sri('sha512', b'x')} {sri('sha512')}").mismatch() is None
    assert parse_integrity(f"md5-AAAA {sri('sha256')}")[0] == "sha256"


@pytest.mark.parametrize("integrity", ["md5-AAAA", "sha512-not base64!", ""])
def test_unusable_integrity_is_refused(integrity):
    with pytest.raises(BadIntegrity):
        parse_integrity(integrity)


def test_a_response_declares_its_digest_in_any_of_three_headers():
    digest = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    hex_digest = hashlib.sha256(DATA).hexdigest()
    assert declared({"X-Checksum-Sha256": hex_digest}) == (hex_digest, None)
    assert declared({"Content-Digest": f"sha-256=:{digest}:"}) == (None, f"sha256-{digest}")
    assert declared({"Digest": f"SHA-256={digest}"}) == (None, f"sha256-{digest}")
    both = declared({"Content-Digest": f"md5=:AAAA:, sha-512=:{sri('sha512')[7:]}:"})
    assert both == (None, sri("sha512"))
    assert declared({"Digest": "md5=AAAA"}) == (None, None), "unknown algorithms are ignored"
    assert declared({}) == (None, None)
    assert checked(integrity=declared({"Digest": f"sha-256={digest}"})[1] or "").mismatch() is None
