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
from artifortress.repos.services import REPO_KEY

REPO_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key", "format"],
    "properties": {
        "key": {"type": "string", "pattern": REPO_KEY.pattern},
        # The document lists the installed formats; the service refuses the others (400).
        "format": {"type": "string", "pattern": FORMAT_NAME.pattern, INSTALLED_FORMATS: True},
        "public": {"type": "boolean"},
        "description": {"type": "string", "maxLength": 2000},
    },
}

REPO_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "public": {"type": "boolean"},
        "description": {"type": "string", "maxLength": 2000},
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
        send_json(resp, services.repo_to_json(repo), status=201)


class RepoResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """One repository."""
        send_json(resp, services.repo_to_json(req.context.repo))

    @requires(Permission.ADMIN, action="repo.update")
    @json_body(REPO_PATCH)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Change a repository's public flag or description (repository admins)."""
        ctx = req.context
        updated = services.update_repo(ctx.db, ctx.caller, ctx.repo, ctx.body)
        send_json(resp, services.repo_to_json(updated))

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
