"""``/v1/repos`` and the role bindings of each repository."""

from __future__ import annotations

import falcon

from artifortress.auth.users import get_user
from artifortress.formats import FORMAT_NAME
from artifortress.http.body import json_body, query_param, send_json
from artifortress.http.openapi import INSTALLED_FORMATS
from artifortress.http.permissions import authenticated, requires, tenant_admin
from artifortress.pagination import clamp_limit
from artifortress.rbac import services as rbac
from artifortress.rbac.groups import group_bindings_of
from artifortress.rbac.permissions import ROLES, Permission
from artifortress.repos import services
from artifortress.repos.kinds import KINDS
from artifortress.repos.services import REPO_KEY
from artifortress.repos.upstreams import MAX_METADATA_TTL

#: Where a remote repository fetches from. ``writeOnly``: the password is never answered
#: (``password_set`` says whether one is stored) nor echoed by a validation error.
UPSTREAM = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        # No pattern: its refusal would echo the value, maybe with a password in it;
        # the service checks it (http or https, a host, no credentials) and says so.
        "url": {
            "type": "string",
            "maxLength": 2000,
            "description": "http:// or https:// URL, without credentials",
        },
        "username": {"type": ["string", "null"], "maxLength": 256},
        "password": {"type": ["string", "null"], "maxLength": 1024, "writeOnly": True},
    },
}

#: What a repository's kind adds, on create and PATCH (the service refuses another kind's).
KIND_FIELDS = {
    "upstream": UPSTREAM,
    "metadata_ttl": {
        "description": "seconds, or a duration such as 30s, 10m, 1h (remote metadata TTL)",
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": MAX_METADATA_TTL},
            {"type": "string", "pattern": r"^[0-9]{1,7}[smhd]?$"},
        ],
    },
    "members": {
        "description": "a virtual's members by key, in lookup order",
        "type": "array",
        "items": {"type": "string", "pattern": REPO_KEY.pattern},
        "maxItems": 100,
        # The service refuses a repository listed twice; the document says so too.
        "uniqueItems": True,
    },
    "merge_patterns": {
        "description": "package name patterns (fnmatch) whose remote versions merge despite "
        "a hosted package of that name",
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": 200},
        "maxItems": 100,
        "uniqueItems": True,
    },
}

REPO_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key", "format"],
    "properties": {
        "key": {"type": "string", "pattern": REPO_KEY.pattern},
        # The document lists the installed formats; the service refuses the others (400).
        "format": {"type": "string", "pattern": FORMAT_NAME.pattern, INSTALLED_FORMATS: True},
        "kind": {"enum": list(KINDS)},
        "public": {"type": "boolean"},
        "description": {"type": "string", "maxLength": 2000},
        **KIND_FIELDS,
    },
}

REPO_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "public": {"type": "boolean"},
        "description": {"type": "string", "maxLength": 2000},
        **KIND_FIELDS,
    },
}

BINDING_PUT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["roles"],
    "properties": {
        "roles": {"type": "array", "items": {"enum": list(ROLES)}, "uniqueItems": True},
    },
}


class ReposResource:
    @authenticated
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the repositories the caller may read, by key, paginated."""
        ctx = req.context
        rows, cursor = services.list_readable(
            ctx.db,
            ctx.principal,
            cursor=req.get_param("cursor"),
            limit=clamp_limit(query_param(req, "limit", int)),
        )
        send_json(resp, {"repos": [services.repo_to_json(r) for r in rows], "next_cursor": cursor})

    @tenant_admin("repo.create")
    @json_body(REPO_CREATE)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a repository of an installed format (tenant admins)."""
        ctx = req.context
        repo = services.create_repo(ctx.db, ctx.caller, ctx.services.formats, **ctx.body)
        resp.location = f"/v1/repos/{repo.key}"
        send_json(resp, services.repo_detail_json(ctx.db, repo), status=201)


class RepoResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """One repository, with its upstream (never the password) or members.

        A virtual's members are listed as far as the caller may read them
        (its administrators see them all).
        """
        ctx = req.context
        viewer = None if Permission.ADMIN in ctx.permissions else ctx.principal
        send_json(resp, services.repo_detail_json(ctx.db, ctx.repo, viewer))

    @requires(Permission.ADMIN, action="repo.update")
    @json_body(REPO_PATCH)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Change a repository's public flag, description, upstream or members (repository admins).

        Key, format and kind cannot change: create another repository instead.
        A remote's ``upstream.url`` is a tenant administrator's to change (403),
        and with another origin it needs ``upstream.password`` again (400); a
        virtual takes as new members only repositories the caller may read.
        """
        ctx = req.context
        updated = services.update_repo(ctx.db, ctx.caller, ctx.repo, ctx.body)
        send_json(resp, services.repo_detail_json(ctx.db, updated))

    @tenant_admin("repo.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Delete a repository (tenant admins)."""
        ctx = req.context
        target = services.get_repo(ctx.db, ctx.principal.tenant_id, repo)
        services.delete_repo(ctx.db, ctx.caller, target)
        send_json(resp, services.repo_to_json(target))


class BindingsResource:
    @requires(Permission.ADMIN, action="binding.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Who holds which roles on the repository, users and groups (repository admins)."""
        db, entity = req.context.db, req.context.repo
        bindings = rbac.bindings_of(db, entity)
        of_groups = group_bindings_of(db, entity)
        send_json(
            resp,
            {
                "bindings": [{"user": u, "roles": r} for u, r in bindings.items()],
                "group_bindings": [{"group": g, "roles": r} for g, r in of_groups.items()],
            },
        )


class BindingResource:
    @requires(Permission.ADMIN, action="binding.set")
    @json_body(BINDING_PUT)
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, user: str) -> None:
        """Replace a user's roles on the repository; ``[]`` removes them."""
        ctx = req.context
        target = get_user(ctx.db, ctx.principal.tenant_id, user)
        roles = rbac.set_bindings(ctx.db, ctx.caller, ctx.repo, target, ctx.body["roles"])
        send_json(resp, {"user": target.name, "roles": roles})
