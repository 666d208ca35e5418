"""Validation of the legacy upload form against the received file."""

from __future__ import annotations

import hashlib
import json

import pytest
from artifortress_pypi.digests import DigestingWriter, FileDigests
from artifortress_pypi.errors import PypiError
from artifortress_pypi.filenames import parse_filename
from artifortress_pypi.form import FormFields, validate_upload_form

CONTENT = b"the distribution bytes"
WHEEL = parse_filename("Foo.Bar-1.0.0-py3-none-any.whl")
SDIST = parse_filename("foo_bar-1.0.tar.gz")


def digests(data: bytes = CONTENT) -> FileDigests:
    writer = DigestingWriter()
    writer.write(data)
    return writer.digests()


def form(**overrides: str | list[str] | None) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str] | None] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "Foo.Bar",
        "version": "1.0",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(CONTENT).hexdigest(),
        "classifiers": ["A", "B"],
        "summary": "s",
    }
    fields.update(overrides)
    return {key: value for key, value in fields.items() if value is not None}


def test_digest_writer_matches_hashlib() -> None:
    sink: list[bytes] = []

    class Target:
        def write(self, chunk: bytes) -> int:
            sink.append(chunk)
            return len(chunk)

    writer = DigestingWriter(Target())
    writer.write(CONTENT[:5])
    writer.write(CONTENT[5:])
    got = writer.digests()
    assert got.sha256 == hashlib.sha256(CONTENT).hexdigest()
    assert got.md5 == hashlib.md5(CONTENT).hexdigest()
    assert got.blake2_256 == hashlib.blake2b(CONTENT, digest_size=32).hexdigest()
    assert got.size == len(CONTENT)
    assert b"".join(sink) == CONTENT


def test_valid_form() -> None:
    result = validate_upload_form(form(), WHEEL, digests())
    assert (result.name, result.version, result.filetype) == ("Foo.Bar", "1.0", "bdist_wheel")
    assert result.sent_digests == {"sha256_digest": digests().sha256}
    assert result.metadata_fields == {"classifiers": ["A", "B"], "summary": "s"}
    assert result.attestations is None


def test_all_digests_upper_case_accepted() -> None:
    d = digests()
    fields = form(sha256_digest=d.sha256.upper(), md5_digest=d.md5, blake2_256_digest=d.blake2_256)
    result = validate_upload_form(fields, WHEEL, d)
    assert set(result.sent_digests) == {"sha256_digest", "md5_digest", "blake2_256_digest"}


def test_sdist_and_poetry_style_md5_only() -> None:
    fields = form(filetype="sdist", sha256_digest=None, md5_digest=digests().md5)
    assert validate_upload_form(fields, SDIST, digests()).filetype == "sdist"


@pytest.mark.parametrize(
    ("overrides", "reason", "status"),
    [
        ({":action": None}, "Unsupported ':action' None", 400),
        ({":action": "doc_upload"}, "Unsupported ':action'", 400),
        ({":action": "submit"}, "pre-registration is no longer required", 410),
        ({"protocol_version": "2"}, "Unknown protocol version.", 400),
        ({"name": None}, "invalid value for Name. Error: This field is required", 400),
        ({"name": " "}, "invalid value for Name", 400),
        ({"version": None}, "invalid value for Version", 400),
        ({"filetype": None}, "invalid value for filetype", 400),
        ({"name": "other"}, "Start filename for 'other'", 400),
        ({"version": "1.1"}, "Version in filename should be '1.1' not '1.0.0'", 400),
        ({"version": "one"}, "'one' is an invalid value for Version", 400),
        ({"filetype": "bdist_egg"}, "Use a known file type", 400),
        ({"filetype": "sdist"}, "is a bdist_wheel, not a sdist", 400),
        ({"sha256_digest": "0" * 64}, "The digest supplied does not match", 400),
        ({"md5_digest": "0" * 32}, "The digest supplied does not match", 400),
        ({"blake2_256_digest": "f" * 64}, "The digest supplied does not match", 400),
        ({"sha256_digest": "xyz"}, "Must be a valid, hex encoded digest", 400),
        ({"sha256_digest": None}, "Include at least one message digest.", 400),
        ({"name": ["Foo.Bar", "Other"]}, "expected a single value", 400),
        ({"attestations": "{not json"}, "Invalid attestations supplied during upload", 400),
        ({"attestations": "{}"}, "non-empty JSON array", 400),
        ({"attestations": "[]"}, "non-empty JSON array", 400),
        ({"attestations": "[1]"}, "must be a JSON object", 400),
    ],
)
def test_refusals(overrides: dict[str, str | None], reason: str, status: int) -> None:
    with pytest.raises(PypiError) as caught:
        validate_upload_form(form(**overrides), WHEEL, digests())
    assert reason in caught.value.message
    assert caught.value.status == status


def test_digest_of_other_bytes_refused() -> None:
    with pytest.raises(PypiError, match="does not match"):
        validate_upload_form(form(), WHEEL, digests(CONTENT + b"!"))


def test_same_value_repeated_is_accepted() -> None:
    fields: FormFields = form(name=["Foo.Bar", "Foo.Bar"])
    assert validate_upload_form(fields, WHEEL, digests()).name == "Foo.Bar"


def test_name_and_version_compare_normalized() -> None:
    result = validate_upload_form(form(name="foo_bar", version="1.0.0.0"), WHEEL, digests())
    assert result.name == "foo_bar"


def test_attestations_returned_verbatim() -> None:
    text = json.dumps([{"version": 1, "envelope": {"statement": "e30=", "signature": "c2ln"}}])
    assert validate_upload_form(form(attestations=text), WHEEL, digests()).attestations == text


def test_deeply_nested_attestations_are_refused() -> None:
    """100,000 "[" overflow the JSON parser's recursion: a clear error, not a 500."""
    with pytest.raises(PypiError, match="nested too deeply"):
        validate_upload_form(form(attestations="[" * 100_000), WHEEL, digests())
