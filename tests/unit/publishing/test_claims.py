"""Claim matching of trusted publishers: pure functions over (verified) claims."""

from __future__ import annotations

import time
from typing import Any

import pytest

from artifortress.auth import scoped
from artifortress.publishing.claims import (
    GITHUB_ISSUER,
    ClaimMismatch,
    PublisherSpec,
    audited_claims,
    check,
    publisher_identity,
    spec_from_fields,
)

GITHUB = spec_from_fields("github", None, {"repository": "Octo/App", "workflow": "release.yml"})
TOKEN: dict[str, Any] = {
    "iss": GITHUB_ISSUER,
    "sub": "repo:octo/app:ref:refs/tags/v1",
    "repository": "octo/app",
    "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/tags/v1",
    "workflow_ref": "octo/app/.github/workflows/release.yml@refs/tags/v1",
    "ref": "refs/tags/v1",
    "environment": "PyPI",
    "jti": "j-1",
}


def mismatch(spec: PublisherSpec, claims: dict[str, Any]) -> str:
    with pytest.raises(ClaimMismatch) as raised:
        check(spec, claims)
    return raised.value.claim


def test_github_defaults_to_githubs_issuer_and_matches_case_blind_repositories() -> None:
    assert GITHUB.issuer == GITHUB_ISSUER
    check(GITHUB, TOKEN)


@pytest.mark.parametrize(
    ("changes", "claim"),
    [
        ({"iss": "https://evil.example"}, "iss"),
        ({"repository": "octo/fork"}, "repository"),
        ({"job_workflow_ref": "octo/app/.github/workflows/other.yml@refs/heads/main",
          "workflow_ref": "octo/app/.github/workflows/other.yml@refs/heads/main"},
         "job_workflow_ref"),
        # The right file name in another repository is another workflow.
        ({"job_workflow_ref": "evil/app/.github/workflows/release.yml@refs/heads/main",
          "workflow_ref": "evil/app/.github/workflows/release.yml@refs/heads/main"},
         "job_workflow_ref"),
        # File paths are case-sensitive on GitHub.
        ({"job_workflow_ref": "octo/app/.github/workflows/Release.yml@refs/tags/v1",
          "workflow_ref": "octo/app/.github/workflows/Release.yml@refs/tags/v1"},
         "job_workflow_ref"),
    ],
)  # fmt: skip
def test_github_mismatches_name_the_claim(changes: dict[str, Any], claim: str) -> None:
    assert mismatch(GITHUB, TOKEN | changes) == claim


def test_a_missing_claim_is_named() -> None:
    without = {k: v for k, v in TOKEN.items() if k != "repository"}
    assert mismatch(GITHUB, without) == "repository"
    no_refs = {k: v for k, v in TOKEN.items() if not k.endswith("workflow_ref")}
    assert mismatch(GITHUB, no_refs) == "job_workflow_ref"


def test_a_reusable_workflow_matches_through_the_calling_workflow_ref() -> None:
    reusable = TOKEN | {"job_workflow_ref": "shared/ci/.github/workflows/publish.yml@v2"}
    check(GITHUB, reusable)


def test_environment_and_ref_constraints() -> None:
    fields = {"repository": "octo/app", "workflow": "release.yml"}
    check(spec_from_fields("github", None, fields | {"environment": "pypi"}), TOKEN)
    strict = spec_from_fields("github", None, fields | {"environment": "prod"})
    assert mismatch(strict, TOKEN) == "environment"
    assert mismatch(strict, {k: v for k, v in TOKEN.items() if k != "environment"}) == (
        "environment"
    )
    tags = spec_from_fields("github", None, fields | {"ref": "refs/tags/v*"})
    check(tags, TOKEN)
    assert mismatch(tags, TOKEN | {"ref": "refs/heads/main"}) == "ref"


def test_gitlab_project_and_ci_file() -> None:
    spec = spec_from_fields(
        "gitlab", None, {"project": "group/app", "workflow": ".gitlab-ci.yml", "ref": "refs/tags/*"}
    )
    claims = {
        "iss": "https://gitlab.com",
        "project_path": "group/app",
        "ci_config_ref_uri": "gitlab.com/group/app//.gitlab-ci.yml@refs/tags/v1",
        "ref_path": "refs/tags/v1",
    }
    check(spec, claims)
    assert mismatch(spec, claims | {"project_path": "group/fork"}) == "project_path"
    other_file = "gitlab.com/group/app//ci/other.yml@refs/tags/v1"
    assert mismatch(spec, claims | {"ci_config_ref_uri": other_file}) == "ci_config_ref_uri"
    assert mismatch(spec, claims | {"ref_path": "refs/heads/main"}) == "ref_path"


def test_generic_oidc_claims_must_be_equal() -> None:
    spec = spec_from_fields(
        "oidc", "https://ci.example", {"claims": {"sub": "pipeline:7", "team": "core"}}
    )
    claims = {"iss": "https://ci.example", "sub": "pipeline:7", "team": "core"}
    check(spec, claims)
    assert mismatch(spec, claims | {"team": "Core"}) == "team"
    assert audited_claims(claims, spec)["team"] == "core"


@pytest.mark.parametrize(
    ("kind", "issuer", "fields"),
    [
        ("github", None, {"repository": "octo/app"}),
        ("github", None, {"repository": "app", "workflow": "r.yml"}),
        ("github", None, {"repository": "o/a", "workflow": "../r.yml"}),
        ("github", None, {"repository": "o/a", "workflow": "r.yml@main"}),
        ("github", None, {"repository": "o/a", "workflow": "r.yml", "claims": {}}),
        ("oidc", None, {"claims": {"sub": "x"}}),
        ("oidc", "https://ci.example", {"claims": {"aud": "everyone"}}),
        ("oidc", "https://ci.example", {"claims": {}}),
        ("svn", None, {}),
    ],
)
def test_bad_publisher_fields_are_refused(
    kind: str, issuer: str | None, fields: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        spec_from_fields(kind, issuer, fields)


def test_the_identity_and_audit_come_from_the_verified_claims() -> None:
    identity = publisher_identity(GITHUB, TOKEN)
    assert identity == {
        "issuer": GITHUB_ISSUER,
        "kind": "github",
        "subject": TOKEN["sub"],
        "repository": "octo/app",
        "workflow": "release.yml",
        "workflow_ref": TOKEN["job_workflow_ref"],
        "environment": "PyPI",
        "ref": "refs/tags/v1",
    }
    audited = audited_claims(TOKEN | {"secret": "x", "long": "y" * 1000}, GITHUB)
    assert "secret" not in audited
    assert audited["jti"] == "j-1"


def test_a_scoped_token_carries_the_publisher_signed() -> None:
    key = scoped.signing_key("secret")
    identity = publisher_identity(GITHUB, TOKEN)
    claims = scoped.new_claims(1, "abcdefghijkl", ["pub"], read_only=False, ttl_seconds=60,
                               publisher=identity)  # fmt: skip
    minted = scoped.mint(key, claims)
    verified = scoped.verify(key, minted)
    assert verified is not None
    assert verified.publisher == identity
    assert verified.expires <= time.time() + 60
    plain = scoped.new_claims(1, "abcdefghijkl", ["pub"], read_only=False, ttl_seconds=60)
    assert scoped.verify(key, scoped.mint(key, plain)) == plain  # no publisher: as before
