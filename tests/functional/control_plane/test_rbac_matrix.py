"""Every ``/v1`` endpoint x kind of caller x repository visibility -> HTTP status.

The expected statuses are data (``MATRIX``), one row per (method, route); the
route test below walks the live route table, so a new ``/v1`` route without a
row here fails the suite.  To add a row: give the statuses per visibility in
``CALLERS`` order, the audit action its refusals record (``None`` if it is
not a privileged action), and, if it takes a body, an entry in ``BODIES``.

Semantics: anonymous -> 401 with ``WWW-Authenticate`` (also for a missing
repository, so probing reveals nothing); authenticated without the permission
-> 403; authenticated and repository missing -> 404.  ``read`` < ``write`` <
``admin``, ``promote`` apart; tenant admins hold everything, but not through a
read-only token or a token scoped to other repositories.  Public repositories
give ``read`` to every caller of the tenant, anonymous included.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable
from typing import Any

import falcon
import pytest

from artifortress.http.permissions import AUTHENTICATED, TENANT_ADMIN, requirement_of
from artifortress.http.permissions import PUBLIC as PUBLIC_REQ
from artifortress.rbac.permissions import Permission
from artifortress.testing.helpers import Api, ApiFactory
from artifortress.web.routes import core_routes

from .helpers import assert_error, audit_rows, key_id

CALLERS = (
    "anonymous",
    "no_binding",  # authenticated user without any role on the repository
    "read",
    "write",
    "admin",  # repository admin (role binding), not a tenant admin
    "promote",  # only the separate promote role
    "tenant_admin",
    "admin_read_only",  # read-only token of the tenant admin
    "other_scope",  # the tenant admin's token scoped to another repository
)

#: Visibility of the repository named in the URL; ``NO_REPO`` for routes without ``{repo}``.
PRIVATE, PUBLIC, MISSING, NO_REPO = "private", "public", "missing", "no repo"


@dataclasses.dataclass(frozen=True)
class Row:
    #: Audit action a 403 of this endpoint records with outcome "denied".
    action: str | None
    statuses: dict[str, tuple[int, ...]]


def _everyone(status: int, anonymous: int = 401) -> tuple[int, ...]:
    return (anonymous, *[status] * (len(CALLERS) - 1))


#                      anon no-b read write admin promo t-adm ro-adm other
_TENANT_ADMIN_ONLY = (401, 403, 403, 403, 403, 403, 200, 403, 403)
_TENANT_ADMIN_CREATES = (401, 403, 403, 403, 403, 403, 201, 403, 403)
#: A tenant admin's action on an id that names nothing (the event plane's ids).
_TENANT_ADMIN_MISSING = (401, 403, 403, 403, 403, 403, 404, 403, 403)
_REPO_ADMIN = {
    PRIVATE: (401, 403, 403, 403, 200, 403, 200, 403, 403),
    PUBLIC: (401, 403, 403, 403, 200, 403, 200, 403, 403),
    MISSING: (401, 404, 404, 404, 404, 404, 404, 404, 404),
}
_REPO_ADMIN_CREATES = {
    PRIVATE: (401, 403, 403, 403, 201, 403, 201, 403, 403),
    PUBLIC: (401, 403, 403, 403, 201, 403, 201, 403, 403),
    MISSING: (401, 404, 404, 404, 404, 404, 404, 404, 404),
}
#: A repository admin's action on a hosted repository that only a remote one supports.
_REPO_ADMIN_REMOTE_ONLY = {
    PRIVATE: (401, 403, 403, 403, 409, 403, 409, 403, 403),
    PUBLIC: (401, 403, 403, 403, 409, 403, 409, 403, 403),
    MISSING: (401, 404, 404, 404, 404, 404, 404, 404, 404),
}
#: A repository admin's action on an id that names nothing (a webhook).
_REPO_ADMIN_MISSING = {
    PRIVATE: (401, 403, 403, 403, 404, 403, 404, 403, 403),
    PUBLIC: (401, 403, 403, 403, 404, 403, 404, 403, 403),
    MISSING: (401, 404, 404, 404, 404, 404, 404, 404, 404),
}

MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/v1/openapi.json"): Row(None, {NO_REPO: _everyone(200, anonymous=200)}),
    # Swagger UI's files (make test installs them), public like the document they show.
    ("GET", "/v1/docs"): Row(None, {NO_REPO: _everyone(200, anonymous=200)}),
    ("GET", "/v1/docs/{asset}"): Row(None, {NO_REPO: _everyone(200, anonymous=200)}),
    ("GET", "/v1/whoami"): Row(None, {NO_REPO: _everyone(200)}),
    # Managing tokens needs a full token: read-only and repo-scoped ones are refused.
    ("GET", "/v1/tokens"): Row(
        "token.list", {NO_REPO: (401, 200, 200, 200, 200, 200, 200, 403, 403)}
    ),
    ("POST", "/v1/tokens"): Row(
        "token.create", {NO_REPO: (401, 201, 201, 201, 201, 201, 201, 403, 403)}
    ),
    # Each caller revokes a fresh token of its own user (revoking itself is always allowed).
    ("DELETE", "/v1/tokens/{token_id}"): Row(
        "token.revoke", {NO_REPO: (401, 200, 200, 200, 200, 200, 200, 403, 403)}
    ),
    ("GET", "/v1/users"): Row("user.list", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("POST", "/v1/users"): Row("user.create", {NO_REPO: _TENANT_ADMIN_CREATES}),
    ("GET", "/v1/users/{user}"): Row("user.read", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("PATCH", "/v1/users/{user}"): Row("user.update", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("DELETE", "/v1/users/{user}"): Row("user.delete", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("GET", "/v1/groups"): Row("group.list", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("POST", "/v1/groups"): Row("group.create", {NO_REPO: _TENANT_ADMIN_CREATES}),
    ("GET", "/v1/groups/{group}"): Row("group.read", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("DELETE", "/v1/groups/{group}"): Row("group.delete", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("PUT", "/v1/groups/{group}/members/{user}"): Row(
        "group.member.add", {NO_REPO: _TENANT_ADMIN_ONLY}
    ),
    ("DELETE", "/v1/groups/{group}/members/{user}"): Row(
        "group.member.remove", {NO_REPO: _TENANT_ADMIN_ONLY}
    ),
    # Lists only what the caller may read (see test_repos_api); anonymous must log in.
    ("GET", "/v1/repos"): Row(None, {NO_REPO: _everyone(200)}),
    ("POST", "/v1/repos"): Row("repo.create", {NO_REPO: _TENANT_ADMIN_CREATES}),
    ("GET", "/v1/repos/{repo}"): Row(
        None,
        {
            PRIVATE: (401, 403, 200, 200, 200, 403, 200, 200, 403),
            PUBLIC: (200, 200, 200, 200, 200, 200, 200, 200, 403),
            MISSING: (401, 404, 404, 404, 404, 404, 404, 404, 404),
        },
    ),
    ("PATCH", "/v1/repos/{repo}"): Row("repo.update", _REPO_ADMIN),
    # Deleting is for tenant admins only, whether or not the repository exists.
    ("DELETE", "/v1/repos/{repo}"): Row(
        "repo.delete",
        {
            PRIVATE: _TENANT_ADMIN_ONLY,
            PUBLIC: _TENANT_ADMIN_ONLY,
            MISSING: (401, 403, 403, 403, 403, 403, 404, 403, 403),
        },
    ),
    ("GET", "/v1/repos/{repo}/bindings"): Row("binding.list", _REPO_ADMIN),
    ("PUT", "/v1/repos/{repo}/bindings/{user}"): Row("binding.set", _REPO_ADMIN),
    ("PUT", "/v1/repos/{repo}/group-bindings/{group}"): Row("group_binding.set", _REPO_ADMIN),
    ("GET", "/v1/repos/{repo}/audit"): Row("audit.read", _REPO_ADMIN),
    # A remote's cache: the matrix's repositories are hosted, so who passes gets 409.
    ("GET", "/v1/repos/{repo}/cache"): Row("remote.cache.read", _REPO_ADMIN_REMOTE_ONLY),
    ("DELETE", "/v1/repos/{repo}/cache"): Row("remote.cache.purge", _REPO_ADMIN_REMOTE_ONLY),
    ("GET", "/v1/audit"): Row("audit.read", {NO_REPO: _TENANT_ADMIN_ONLY}),
    # Event plane. Search answers everyone, with only what each caller may read.
    ("GET", "/v1/search"): Row(None, {NO_REPO: _everyone(200, anonymous=200)}),
    ("GET", "/v1/admin/outbox"): Row("outbox.list", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("POST", "/v1/admin/outbox/{event_id}/retry"): Row(
        "outbox.retry", {NO_REPO: _TENANT_ADMIN_MISSING}
    ),
    ("GET", "/v1/quarantine"): Row("quarantine.list", {NO_REPO: _TENANT_ADMIN_ONLY}),
    ("POST", "/v1/quarantine/{quarantine_id}/release"): Row(
        "quarantine.release", {NO_REPO: _TENANT_ADMIN_MISSING}
    ),
    ("POST", "/v1/quarantine/{quarantine_id}/reject"): Row(
        "quarantine.reject", {NO_REPO: _TENANT_ADMIN_MISSING}
    ),
    ("GET", "/v1/repos/{repo}/policy"): Row("policy.read", _REPO_ADMIN),
    ("PUT", "/v1/repos/{repo}/policy"): Row("policy.set", _REPO_ADMIN),
    ("GET", "/v1/repos/{repo}/webhooks"): Row("webhook.list", _REPO_ADMIN),
    ("POST", "/v1/repos/{repo}/webhooks"): Row("webhook.create", _REPO_ADMIN_CREATES),
    ("GET", "/v1/repos/{repo}/webhooks/{hook_id}"): Row("webhook.read", _REPO_ADMIN_MISSING),
    ("DELETE", "/v1/repos/{repo}/webhooks/{hook_id}"): Row("webhook.delete", _REPO_ADMIN_MISSING),
    ("GET", "/v1/repos/{repo}/webhooks/{hook_id}/deliveries"): Row(
        "webhook.read", _REPO_ADMIN_MISSING
    ),
}

BODIES: dict[tuple[str, str], Callable[[int], Any]] = {
    ("POST", "/v1/tokens"): lambda n: {"name": f"matrix {n}"},
    ("POST", "/v1/users"): lambda n: {"name": f"user{n}"},
    ("PATCH", "/v1/users/{user}"): lambda n: {"disabled": True},
    ("POST", "/v1/groups"): lambda n: {"name": f"group{n}"},
    ("POST", "/v1/repos"): lambda n: {"key": f"created{n}", "format": "generic"},
    ("PATCH", "/v1/repos/{repo}"): lambda n: {"description": f"edit {n}"},
    ("PUT", "/v1/repos/{repo}/bindings/{user}"): lambda n: {"roles": ["read"]},
    ("PUT", "/v1/repos/{repo}/group-bindings/{group}"): lambda n: {"roles": ["read"]},
    ("POST", "/v1/quarantine/{quarantine_id}/reject"): lambda n: {"reason": f"matrix {n}"},
    ("PUT", "/v1/repos/{repo}/policy"): lambda n: {"typosquat": True},
    ("POST", "/v1/repos/{repo}/webhooks"): lambda n: {"url": f"https://hooks.example.com/{n}"},
}

#: Ids in URLs that name nothing: the row says what each caller gets for them.
MISSING_IDS = {
    "event_id": "999999",
    "quarantine_id": "999999",
    "hook_id": "999999",
    "asset": "swagger-ui.css",
}

#: The user behind each caller's token (anonymous callers target nobody's token).
USER_OF = {
    "anonymous": "nobody",
    "no_binding": "nobody",
    "read": "reader",
    "write": "writer",
    "admin": "repoadmin",
    "promote": "promoter",
    "tenant_admin": "admin",
    "admin_read_only": "admin",
    "other_scope": "admin",
}
ROLE_OF = {"reader": "read", "writer": "write", "repoadmin": "admin", "promoter": "promote"}
REPO_OF = {PRIVATE: "priv", PUBLIC: "pub", MISSING: "ghost"}


def _methods(resource: Any) -> list[str]:
    return [m for m in falcon.COMBINED_METHODS if hasattr(resource, f"on_{m.lower()}")]


#: Tags of routes that other planes own and test: instead of a MATRIX row, each of
#: their routes is held to the requirement it declares (``test_declared_routes_...``).
#: A route with any other tag needs a MATRIX row.
DECLARATION_CHECKED_TAGS = frozenset(
    # identity and publishing: OIDC sign-in and trusted publishing test their callers
    # (tests/functional/publishing, tests/e2e/test_oidc_*.py).
    {"blobs", "packages", "search", "policy", "webhooks", "events", "identity", "publishing"}
)

#: What each caller holds on the private repository (for the declaration check).
GRANTS: dict[str, frozenset[Permission]] = {
    "anonymous": frozenset(),
    "no_binding": frozenset(),
    "read": frozenset({Permission.READ}),
    "write": frozenset({Permission.READ, Permission.WRITE}),
    "admin": frozenset({Permission.READ, Permission.WRITE, Permission.ADMIN}),
    "promote": frozenset({Permission.PROMOTE}),
    "tenant_admin": frozenset(Permission),
    "admin_read_only": frozenset({Permission.READ}),
    "other_scope": frozenset(),
}


def _v1_routes(services, *, declared: bool) -> list[tuple[str, str, Any]]:
    """``/v1`` routes checked by their declaration (``declared``) or by a MATRIX row."""
    return [
        (method, route.path, getattr(route.resource, f"on_{method.lower()}"))
        for route in core_routes(services)
        if route.path.startswith("/v1/") and (route.tag in DECLARATION_CHECKED_TAGS) == declared
        for method in _methods(route.resource)
    ]


def test_every_v1_route_has_a_row(services):
    """A control-plane route added to the table without a row in MATRIX (or a stale row) fails."""
    live = {(method, path) for method, path, _ in _v1_routes(services, declared=False)}
    missing = sorted(live - set(MATRIX))
    assert missing == [], (
        "add a MATRIX row (statuses per caller kind) for each of these routes, or, if "
        "another plane owns and tests them, put their tag in DECLARATION_CHECKED_TAGS"
    )
    # Routes checked by their declaration may also have an exact row (the event plane's do).
    served = live | {(method, path) for method, path, _ in _v1_routes(services, declared=True)}
    assert sorted(set(MATRIX) - served) == [], "these MATRIX rows name no route any more"
    for row in MATRIX.values():
        for statuses in row.statuses.values():
            assert len(statuses) == len(CALLERS)


def test_declared_routes_name_a_known_requirement(services):
    """The declaration check knows public, authenticated, tenant-admin and repo permissions."""
    permissions = {str(p) for p in Permission}
    odd = [
        f"{method} {path}: {requirement_of(responder)}"
        for method, path, responder in _v1_routes(services, declared=True)
        if requirement_of(responder) not in {PUBLIC_REQ, AUTHENTICATED, TENANT_ADMIN}
        and ("{repo}" not in path or requirement_of(responder) not in permissions)
    ]
    assert odd == [], "give these a row in MATRIX"


def test_every_responder_declares_its_requirement(services):
    """No responder may rely on checking roles by hand."""
    undeclared = [
        f"{method} {route.path}"
        for route in core_routes(services)
        for method in _methods(route.resource)
        if requirement_of(getattr(route.resource, f"on_{method.lower()}")) is None
    ]
    assert undeclared == []


class World:
    """Users with their roles, one private and one public repository, a token per caller."""

    def __init__(self, api_factory: ApiFactory, admin: Api) -> None:
        self.factory = api_factory
        self.admin = admin
        self.counter = itertools.count()
        for key, public in (("priv", False), ("pub", True), ("other", False)):
            self.repo(key, public)
        self.factory.token_for("target")
        # The group the URLs name, with the target user as its member.
        assert admin.post("/v1/groups", {"name": "team"}).status_code == 201
        assert admin.put("/v1/groups/team/members/target").status_code == 200
        self.callers = {
            "anonymous": api_factory.anonymous(),
            "tenant_admin": admin,
            "admin_read_only": api_factory.as_user("admin", admin=True, read_only=True),
            "other_scope": api_factory.as_user("admin", admin=True, repos=["other"]),
        }
        for kind in ("no_binding", "read", "write", "admin", "promote"):
            self.callers[kind] = api_factory.as_user(USER_OF[kind])

    def repo(self, key: str, public: bool) -> None:
        """Create a repository with the role users bound to it."""
        created = self.admin.post("/v1/repos", {"key": key, "format": "generic", "public": public})
        assert created.status_code == 201, created.text
        for user, role in ROLE_OF.items():
            self.factory.token_for(user)  # creates the user if missing
            bound = self.admin.put(f"/v1/repos/{key}/bindings/{user}", {"roles": [role]})
            assert bound.status_code == 200, bound.text

    def path(self, method: str, template: str, caller: str, visibility: str, n: int) -> str:
        key = REPO_OF.get(visibility, "")
        if (method, template) == ("DELETE", "/v1/repos/{repo}") and visibility != MISSING:
            key = f"doomed{n}"
            self.repo(key, visibility == PUBLIC)
        token_id = ""
        if "{token_id}" in template:
            user = USER_OF[caller]
            token_id = key_id(self.factory.token_for(user, admin=user == "admin"))
        return template.format(
            repo=key, user="target", group="team", token_id=token_id, **MISSING_IDS
        )


@pytest.mark.parametrize(
    ("method", "template"), sorted(MATRIX), ids=[f"{m} {t}" for m, t in sorted(MATRIX)]
)
def test_status_matrix(method, template, api_factory, admin, services):
    world = World(api_factory, admin)
    row = MATRIX[(method, template)]
    mismatches = []
    for visibility, statuses in row.statuses.items():
        for caller, expected in zip(CALLERS, statuses, strict=True):
            n = next(world.counter)
            path = world.path(method, template, caller, visibility, n)
            body = BODIES[(method, template)](n) if (method, template) in BODIES else None
            before = len(audit_rows(services, outcome="denied"))
            result = world.callers[caller].request(method, path, body)
            denied = audit_rows(services, outcome="denied")[before:]
            cell = f"{caller} on {visibility}: {method} {path}"
            if result.status_code != expected:
                mismatches.append(f"{cell} -> {result.status_code}, expected {expected}")
                continue
            if expected >= 400:
                assert_error(result, expected)
            wanted = [row.action] if expected == 403 and row.action else []
            if [d.action for d in denied] != wanted:
                got = [(d.action, d.actor) for d in denied]
                mismatches.append(f"{cell}: denied audit rows {got}, expected {wanted}")
    assert mismatches == []


_DUMMY = re.compile(r"{(\w+)(?::(\w+))?}")
_DUMMY_VALUES = {"int": "1", "path": "dir/file.txt", "digest": "sha256:" + "0" * 64}


def _dummy_path(template: str, repo: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name, converter = match.group(1), match.group(2)
        if name == "repo":
            return repo
        return _DUMMY_VALUES.get(converter or name, "x")

    return _DUMMY.sub(fill, template)


def _expected(requirement: str, caller: str, visibility: str) -> tuple[str, set[int] | None]:
    """What *caller* must get from a route declaring *requirement*: (label, statuses).

    ``None`` means the responder runs and answers for itself: anything but
    401/403, and never a 5xx.
    """
    if requirement == PUBLIC_REQ:
        return "the responder's answer", None
    if caller == "anonymous" and not (visibility == PRIVATE and requirement in GRANTS["anonymous"]):
        return "401", {401}
    if requirement == AUTHENTICATED:
        return "the responder's answer", None
    if requirement == TENANT_ADMIN:
        return ("the responder's answer", None) if caller == "tenant_admin" else ("403", {403})
    if visibility == MISSING:
        return "404", {404}
    if Permission(requirement) in GRANTS[caller]:
        return "the responder's answer", None
    return "403", {403}


def test_declared_routes_follow_their_declared_requirement(api_factory, admin, services):
    """401 anonymous, 403 without the requirement, 404 for a missing repo; else the responder runs.

    The body is empty and other path parameters are placeholders: where the
    requirement lets the caller through, the responder answers for itself.
    """
    world = World(api_factory, admin)
    wrong = []
    for method, template, responder in _v1_routes(services, declared=True):
        requirement = requirement_of(responder)
        visibilities = (PRIVATE, MISSING) if "{repo}" in template else (NO_REPO,)
        for visibility, caller in itertools.product(visibilities, CALLERS):
            path = _dummy_path(template, REPO_OF.get(visibility, ""))
            status = world.callers[caller].request(method, path).status_code
            label, statuses = _expected(requirement, caller, visibility)
            ok = status in statuses if statuses else status not in (401, 403) and status < 500
            if not ok:
                wrong.append(f"{caller} {method} {path} ({requirement}): {status}, want {label}")
    assert wrong == []
