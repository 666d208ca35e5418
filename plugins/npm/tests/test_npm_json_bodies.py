"""npm's JSON bodies are read through the core's one reader: bad ones are npm-shaped 400s."""

from __future__ import annotations

import pytest
from artifortress_npm.dist_tags import parse_dist_tag_body
from artifortress_npm.errors import NpmError

DEEP = "[" * 60_000  # under 64 KB, deeper than Python's JSON parser goes: once a 500


@pytest.fixture
def repo(make_repo):
    make_repo("js", format="npm")


def _raw(api, method: str, path: str, body: str):
    headers = api.headers({"Content-Type": "application/json"})
    return api.client.simulate_request(method, path, headers=headers, body=body)


@pytest.mark.parametrize(
    "body", [DEEP, "[]", '{"name": "alice"}', '{"name": "alice", "password": 7}', "{"]
)
def test_a_bad_login_body_is_a_400_in_npm_shape(anonymous, repo, body):
    answer = _raw(anonymous, "PUT", "/npm/js/-/user/org.couchdb.user:alice", body)
    assert answer.status_code == 400, answer.text
    assert isinstance(answer.json["error"], str)


@pytest.mark.parametrize("body", [DEEP, '{"password": null}', '{"password": "x", "readonly": 1}'])
def test_a_bad_token_body_is_a_400_in_npm_shape(api_factory, repo, body):
    alice = api_factory.as_user("alice")
    answer = _raw(alice, "POST", "/npm/js/-/npm/v1/tokens", body)
    assert answer.status_code == 400, answer.text
    assert isinstance(answer.json["error"], str)


def test_a_deeply_nested_dist_tag_body_is_refused():
    with pytest.raises(NpmError, match="JSON string"):
        parse_dist_tag_body(b"[" * 1024)
