"""Which CI identities a trusted publisher accepts: pure functions over verified claims.

A publisher is a kind, an issuer and the constraints its ID tokens must meet:

- ``github``: ``repository`` (``owner/name``), ``workflow`` (the file under
  ``.github/workflows/``), optional ``environment`` and ``ref`` (a glob such as
  ``refs/tags/v*``). The workflow is read from ``job_workflow_ref`` (or
  ``workflow_ref``, which names the calling workflow of a reusable one), as PyPI does.
- ``gitlab``: ``project`` (``group/project``), ``workflow`` (the CI file path, read from
  ``ci_config_ref_uri``), optional ``environment`` and ``ref`` (a glob on ``ref_path``).
- ``oidc``: any issuer; ``claims`` maps claim names to the exact values required.

Nothing here verifies a signature: the claims given are already verified
(:class:`artifortress.identity.id_tokens.IssuerKeys`).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Mapping
from typing import Any

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
DEFAULT_ISSUERS = {"github": GITHUB_ISSUER, "gitlab": GITLAB_ISSUER}
KINDS = ("github", "gitlab", "oidc")

#: Fields each kind takes: (required, optional).
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "github": (("repository", "workflow"), ("environment", "ref")),
    "gitlab": (("project", "workflow"), ("environment", "ref")),
}
_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_WORKFLOW = re.compile(r"^[A-Za-z0-9_.\-/]{1,255}$")
_CLAIM_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
#: Claims worth keeping in the audit log (never the token itself).
AUDITED_CLAIMS = (
    "iss", "sub", "aud", "jti", "repository", "repository_owner", "repository_id",
    "workflow_ref", "job_workflow_ref", "ref", "sha", "environment", "run_id",
    "run_attempt", "actor", "event_name", "project_path", "ci_config_ref_uri",
    "ref_path", "pipeline_id", "job_id", "user_login",
)  # fmt: skip


class ClaimMismatch(Exception):
    """The token's claims do not satisfy a publisher; ``reason`` names the claim."""

    def __init__(self, claim: str, reason: str) -> None:
        super().__init__(reason)
        self.claim = claim
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class PublisherSpec:
    kind: str
    issuer: str
    #: ``github``/``gitlab``: the fields above; ``oidc``: claim name -> required value.
    constraints: Mapping[str, str]


def spec_from_fields(kind: str, issuer: str | None, fields: Mapping[str, Any]) -> PublisherSpec:
    """A publisher from what an admin sent; ValueError saying what is wrong."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    chosen = issuer or DEFAULT_ISSUERS.get(kind)
    if not chosen:
        raise ValueError("an 'oidc' publisher needs its 'issuer'")
    if kind == "oidc":
        ignored = sorted(set(fields) - {"claims"})
        if ignored:  # an admin who sent them believes they restrict something
            raise ValueError(
                f"an 'oidc' publisher takes no {', '.join(ignored)}: require claims in 'claims'"
            )
        return PublisherSpec(kind, chosen, _checked_claims(fields.get("claims")))
    return PublisherSpec(kind, chosen, _checked_fields(kind, fields))


def _checked_fields(kind: str, fields: Mapping[str, Any]) -> dict[str, str]:
    required, optional = _FIELDS[kind]
    unknown = sorted(set(fields) - set(required) - set(optional))
    if unknown:
        raise ValueError(f"a {kind} publisher takes no {', '.join(unknown)}")
    missing = [name for name in required if not fields.get(name)]
    if missing:
        raise ValueError(f"a {kind} publisher needs {' and '.join(missing)}")
    checked = {name: str(fields[name]) for name in (*required, *optional) if fields.get(name)}
    path = checked[required[0]]
    # GitHub's are owner/name exactly (a URL or a host prefix would never match a token).
    if not _PATH.fullmatch(path) or (kind == "github" and path.count("/") != 1):
        raise ValueError(f"{required[0]} must look like 'owner/name'")
    workflow = checked["workflow"]
    if not _WORKFLOW.fullmatch(workflow) or "@" in workflow or ".." in workflow:
        raise ValueError("workflow must be a file path such as 'release.yml'")
    return checked


#: Claims every token of an issuer for us carries alike: requiring them narrows nothing.
_SHARED_CLAIMS = frozenset({"iss", "aud", "azp"})
#: Claims that differ in every token: requiring a value would match one token at most.
_PER_TOKEN_CLAIMS = frozenset({"exp", "iat", "nbf", "jti", "nonce", "auth_time"})


def _checked_claims(claims: object) -> dict[str, str]:
    if not isinstance(claims, Mapping) or not claims:
        raise ValueError("an 'oidc' publisher needs 'claims': the claim values to require")
    per_token = sorted(set(map(str, claims)) & _PER_TOKEN_CLAIMS)
    if per_token:
        raise ValueError(f"claim {per_token[0]!r} differs in every token; require others")
    narrowing = set(map(str, claims)) - _SHARED_CLAIMS
    if "sub" not in narrowing and len(narrowing) < 2:
        # One non-subject claim, or `iss`/`aud` which every token shares, matches too many.
        raise ValueError(
            "require 'sub' or at least two claims besides iss/aud/azp, so that one workload matches"
        )
    for name, value in claims.items():
        if not _CLAIM_NAME.fullmatch(str(name)) or not isinstance(value, str) or not value:
            raise ValueError(f"claim {name!r} needs a non-empty string value")
    return {str(name): str(value) for name, value in claims.items()}


def check(spec: PublisherSpec, claims: Mapping[str, Any]) -> None:
    """Return if *claims* satisfy *spec*; raise :class:`ClaimMismatch` naming the first claim."""
    if claims.get("iss") != spec.issuer:
        raise ClaimMismatch("iss", f"claim 'iss' is {claims.get('iss')!r}, another issuer")
    if spec.kind == "github":
        _check_github(spec.constraints, claims)
    elif spec.kind == "gitlab":
        _check_gitlab(spec.constraints, claims)
    else:
        for name, wanted in spec.constraints.items():
            _require_equal(claims, name, wanted)


#: GitHub events whose jobs run the base repository's trusted workflow on a pull request's
#: behalf, commonly checking out its untrusted code: PyPI refuses them as well.
_REFUSED_GITHUB_EVENTS = frozenset({"pull_request_target"})


def _check_github(wanted: Mapping[str, str], claims: Mapping[str, Any]) -> None:
    repository = wanted["repository"]
    _require_equal(claims, "repository", repository, fold=True)
    event = claims.get("event_name")
    if event in _REFUSED_GITHUB_EVENTS:
        raise ClaimMismatch("event_name", f"claim 'event_name' is {event!r}: never a publisher")
    refs = [name for name in ("job_workflow_ref", "workflow_ref") if name in claims]
    if not refs:
        raise ClaimMismatch("job_workflow_ref", "the token has no 'job_workflow_ref' claim")
    if not any(_github_workflow(claims[name], repository) == wanted["workflow"] for name in refs):
        found = claims[refs[0]]
        raise ClaimMismatch(
            refs[0], f"claim {refs[0]!r} is {found!r}, not this publisher's workflow"
        )
    _check_optional(wanted, claims, ref_claim="ref")


def _github_workflow(ref: object, repository: str) -> str | None:
    """The workflow file of ``OWNER/REPO/.github/workflows/FILE@REF`` if in *repository*.

    Repository names are case-blind on GitHub, file paths are not.
    """
    location = str(ref).partition("@")[0]
    owner_repo, marker, path = location.partition("/.github/workflows/")
    if not marker or owner_repo.casefold() != repository.casefold():
        return None
    return path


def _check_gitlab(wanted: Mapping[str, str], claims: Mapping[str, Any]) -> None:
    _require_equal(claims, "project_path", wanted["project"], fold=True)
    uri = str(claims.get("ci_config_ref_uri", ""))
    location, _, _ref = uri.partition("@")
    project, _, path = location.partition("//")
    if not project.casefold().endswith("/" + wanted["project"].casefold()) or (
        path != wanted["workflow"]
    ):
        raise ClaimMismatch(
            "ci_config_ref_uri", f"claim 'ci_config_ref_uri' is {uri!r}, not this workflow"
        )
    _check_optional(wanted, claims, ref_claim="ref_path")


def _check_optional(wanted: Mapping[str, str], claims: Mapping[str, Any], ref_claim: str) -> None:
    if "environment" in wanted:
        _require_equal(claims, "environment", wanted["environment"], fold=True)
    if "ref" in wanted:
        ref = str(claims.get(ref_claim, ""))
        if not fnmatch.fnmatchcase(ref, wanted["ref"]):
            raise ClaimMismatch(ref_claim, f"claim {ref_claim!r} is {ref!r}, not an allowed ref")


def _require_equal(
    claims: Mapping[str, Any], name: str, wanted: str, *, fold: bool = False
) -> None:
    if name not in claims:
        raise ClaimMismatch(name, f"the token has no {name!r} claim")
    found = str(claims[name])
    if (found.casefold() == wanted.casefold()) if fold else (found == wanted):
        return
    raise ClaimMismatch(name, f"claim {name!r} is {found!r}, not the value required")


def publisher_identity(spec: PublisherSpec, claims: Mapping[str, Any]) -> dict[str, str]:
    """What a minted token's principal carries: who published, from the verified claims."""
    identity = {"issuer": spec.issuer, "kind": spec.kind, "subject": str(claims.get("sub", ""))}
    if spec.kind == "github":
        identity |= {
            "repository": str(claims["repository"]),
            "workflow": spec.constraints["workflow"],
            "workflow_ref": str(claims.get("job_workflow_ref") or claims.get("workflow_ref")),
        }
    elif spec.kind == "gitlab":
        identity |= {
            "repository": str(claims["project_path"]),
            "workflow": spec.constraints["workflow"],
            "workflow_ref": str(claims.get("ci_config_ref_uri", "")),
        }
    for name in ("environment", "ref", "sha"):
        if claims.get(name):
            identity[name] = str(claims[name])
    return identity


def audited_claims(claims: Mapping[str, Any], spec: PublisherSpec | None) -> dict[str, str]:
    """The claims an audit row keeps: identity claims (and a generic spec's), clipped."""
    names = [*AUDITED_CLAIMS, *(spec.constraints if spec and spec.kind == "oidc" else ())]
    return {name: str(claims[name])[:300] for name in dict.fromkeys(names) if name in claims}
