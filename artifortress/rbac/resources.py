"""``/v1/groups`` (teams of users) and ``/v1/repos/{repo}/group-bindings/{group}``."""

from __future__ import annotations

import falcon

from artifortress.auth.users import get_user
from artifortress.http.body import json_body, send_json
from artifortress.http.permissions import requires, tenant_admin
from artifortress.rbac import groups
from artifortress.rbac.permissions import ROLES, Permission

GROUP_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": groups.GROUP_NAME.pattern}},
}

GROUP_BINDING_PUT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["roles"],
    "properties": {
        "roles": {"type": "array", "items": {"enum": list(ROLES)}, "uniqueItems": True},
    },
}


class GroupsResource:
    @tenant_admin("group.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's groups with their members (tenant admins)."""
        db = req.context.db
        rows = groups.list_groups(db, req.context.principal.tenant_id)
        send_json(resp, {"groups": [groups.group_to_json(db, g) for g in rows]})

    @tenant_admin("group.create")
    @json_body(GROUP_CREATE)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a group of the tenant (tenant admins); 409 if the name is taken."""
        ctx = req.context
        group = groups.create_group(ctx.db, ctx.caller, ctx.body["name"])
        send_json(resp, groups.group_to_json(ctx.db, group), status=201)


class GroupResource:
    @tenant_admin("group.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response, group: str) -> None:
        """One group with its members (tenant admins)."""
        ctx = req.context
        found = groups.get_group(ctx.db, ctx.principal.tenant_id, group)
        send_json(resp, groups.group_to_json(ctx.db, found))

    @tenant_admin("group.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, group: str) -> None:
        """Delete a group, its memberships and its role bindings; members lose its roles."""
        ctx = req.context
        found = groups.get_group(ctx.db, ctx.principal.tenant_id, group)
        groups.delete_group(ctx.db, ctx.caller, found)
        send_json(resp, {"name": found.name, "deleted": True})


class GroupMemberResource:
    @tenant_admin("group.member.add")
    def on_put(self, req: falcon.Request, resp: falcon.Response, group: str, user: str) -> None:
        """Add a user to a group (tenant admins); adding a member again changes nothing."""
        ctx = req.context
        found = groups.get_group(ctx.db, ctx.principal.tenant_id, group)
        member = get_user(ctx.db, ctx.principal.tenant_id, user)
        groups.add_member(ctx.db, ctx.caller, found, member)
        send_json(resp, groups.group_to_json(ctx.db, found))

    @tenant_admin("group.member.remove")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, group: str, user: str) -> None:
        """Remove a user from a group; they lose its roles with their next request."""
        ctx = req.context
        found = groups.get_group(ctx.db, ctx.principal.tenant_id, group)
        member = get_user(ctx.db, ctx.principal.tenant_id, user)
        groups.remove_member(ctx.db, ctx.caller, found, member)
        send_json(resp, groups.group_to_json(ctx.db, found))


class GroupBindingResource:
    @requires(Permission.ADMIN, action="group_binding.set")
    @json_body(GROUP_BINDING_PUT)
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, group: str) -> None:
        """Replace a group's roles on the repository; ``[]`` removes them.

        Every member holds these roles on top of their own (the union).
        """
        ctx = req.context
        target = groups.get_group(ctx.db, ctx.principal.tenant_id, group)
        roles = groups.set_group_bindings(ctx.db, ctx.caller, ctx.repo, target, ctx.body["roles"])
        send_json(resp, {"group": target.name, "roles": roles})
