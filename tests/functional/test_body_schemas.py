"""JSON bodies and path parameters are checked as strictly as the OpenAPI document says.

Each case here was a 500 or a silent acceptance the schema-driven fuzzer
(tests/e2e/test_api_fuzz.py) or a review of the schemas found.
"""

from __future__ import annotations

import hashlib

import pytest

from artifortress.http.body import BodyValidator
from tests.functional.versions_helpers import release

DIGEST = "sha256:" + hashlib.sha256(b"x").hexdigest()


@pytest.fixture
def repo(make_repo):
    make_repo("libs", "generic")
    return "libs"


@pytest.mark.parametrize("body", [{"version": ""}, {"version": "v" * 129}, {"version": 1}])
def test_a_label_needs_a_version_number(admin, repo, body):
    """``{"version": ""}`` fell back to the URL's (absent) version: KeyError, 500."""
    release(admin, repo, "tool", "1.0", {"tool.txt": b"one"})
    answer = admin.put(f"/v1/repos/{repo}/packages/tool/labels/stable", body)
    assert answer.status_code == 400, answer.text
    assert answer.json["error"]["code"] == "validation_failed"
    assert admin.get(f"/v1/repos/{repo}/packages/tool").json["labels"] == {}


@pytest.mark.parametrize(
    "draft_id", ["99999999999999999999999999", "9223372036854775808", "0x1", "-1"]
)
def test_draft_ids_out_of_range_name_no_draft(admin, repo, draft_id):
    """A 26-digit id overflowed the database integer: a 500 on SQLite and PostgreSQL."""
    base = f"/v1/repos/{repo}/packages/versions/drafts/{draft_id}"
    for answer in (
        admin.get(base),
        admin.delete(base),
        admin.post(f"{base}/publish"),
        admin.post(f"{base}/artifacts", {"filename": "a.txt", "digest": DIGEST}),
    ):
        assert answer.status_code == 404, answer.text


def test_a_digest_with_a_trailing_newline_is_refused(admin, repo):
    """Python's ``$`` matches before a final newline; the digest rule does not."""
    answer = admin.post(f"/v1/repos/{repo}/uploads", {"digest": DIGEST + "\n", "size": 1})
    assert answer.status_code == 400, answer.text
    assert admin.get(f"/v1/repos/{repo}/blobs/{DIGEST}%0A").status_code == 400


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/tokens", {"name": "ci", "repos": ["libs\n"]}),
        ("/v1/tokens", {"name": "ci", "user": ""}),
        ("/v1/users", {"name": "bob\n"}),
        ("/v1/repos/libs/packages/tool/versions/1.0/promote", {"target": "other\n"}),
        ("/v1/repos/libs/webhooks", {"url": "ftp://hooks.example.com/"}),
        ("/v1/repos/libs/webhooks", {"url": "https://hooks.example.com/", "events": ["nope"]}),
        ("/v1/repos", {"key": "other", "format": "no-such-format"}),
        ("/v1/repos", {"key": "v", "format": "generic", "kind": "virtual", "members": ["libs\n"]}),
        (
            "/v1/repos",
            {"key": "v", "format": "generic", "kind": "virtual", "members": ["libs"] * 2},
        ),
        (
            "/v1/repos",
            {"key": "v", "format": "generic", "kind": "virtual", "members": ["libs"] * 101},
        ),
        (
            "/v1/repos",
            {
                "key": "v",
                "format": "generic",
                "kind": "virtual",
                "members": ["libs"],
                "merge_patterns": [""],
            },
        ),
        (
            "/v1/repos",
            {
                "key": "r",
                "format": "generic",
                "kind": "remote",
                "upstream": {"url": "https://up.example/"},
                "metadata_ttl": "10\n",
            },
        ),
        ("/v1/repos", {"key": "r", "format": "generic", "kind": "other"}),
    ],
)
def test_bodies_the_document_refuses_are_refused(admin, repo, path, body):
    answer = admin.post(path, body)
    assert answer.status_code == 400, answer.text


def test_patterns_read_dollar_as_the_end_of_the_string():
    validator = BodyValidator({"type": "string", "pattern": "^[a-z]+$"})
    assert validator.is_valid("abc")
    assert not validator.is_valid("abc\n")
    escaped = BodyValidator({"type": "string", "pattern": r"^a\$$"})
    assert escaped.is_valid("a$")
    assert not escaped.is_valid("a$\n")
