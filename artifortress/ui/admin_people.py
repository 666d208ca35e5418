"""Users and groups in the UI (tenant administrators), with the API's permissions and services."""

from __future__ import annotations

import falcon

from artifortress.auth import users
from artifortress.auth.services import issue_token
from artifortress.http.permissions import tenant_admin
from artifortress.rbac import groups
from artifortress.ui.view import View, view_of

NOTICES = {
    "user-created": "The user was created; bind them to repositories in each one's settings.",
    "user-disabled": "The user is disabled: none of their tokens or sessions works.",
    "user-enabled": "The user is enabled again.",
    "group-created": "The group was created.",
    "member-added": "The member was added.",
    "member-removed": "The member was removed.",
}
PAGE = "/ui/admin/people"


def _render(view: View, status: int = 200, **extra: object) -> None:
    db = view.req.context.db
    tenant = view.principal.tenant_id
    listed = [(g, groups.members_of(db, g)) for g in groups.list_groups(db, tenant)]
    view.render(
        "people.html",
        status=status,
        users=users.list_users(db, tenant),
        groups=listed,
        notice=NOTICES.get(view.req.get_param("notice") or ""),
        default_ttl=view.ui.services.token_policy.default_ttl_days,
        **extra,
    )


class PeoplePage:
    @tenant_admin("user.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The tenant's users and groups (with their members)."""
        _render(view_of(req))


class UserToken:
    @tenant_admin("token.create")
    def on_post(self, req: falcon.Request, resp: falcon.Response, user: str) -> None:
        """Issue a token for a user to hand over (their first sign-in); shown this once."""
        view = view_of(req)
        ctx = req.context
        owner = users.get_user(ctx.db, ctx.principal.tenant_id, user)
        name = f"issued by {view.principal.name} in the web UI"
        token, secret = issue_token(ctx.db, ctx.caller, owner, ctx.services.token_policy, name=name)
        _render(view, status=201, created_for=owner.name, secret=secret, token=token)


class NewUser:
    @tenant_admin("user.create")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        view = view_of(req)
        ctx = req.context
        admin = view.field("admin") == "on"
        users.create_user(ctx.db, ctx.caller, view.field("name").strip(), is_admin=admin)
        view.redirect(f"{PAGE}?notice=user-created")


class UserState:
    @tenant_admin("user.update")
    def on_post(self, req: falcon.Request, resp: falcon.Response, user: str) -> None:
        """Disable or enable a user (``disabled``: on/off); never oneself (409)."""
        view = view_of(req)
        ctx = req.context
        target = users.get_user(ctx.db, ctx.principal.tenant_id, user)
        disabled = view.field("disabled") == "on"
        users.set_disabled(ctx.db, ctx.caller, target, disabled)
        ctx.services.authenticator.forget_user(target.id)
        view.redirect(f"{PAGE}?notice=user-{'disabled' if disabled else 'enabled'}")


class NewGroup:
    @tenant_admin("group.create")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        view = view_of(req)
        ctx = req.context
        groups.create_group(ctx.db, ctx.caller, view.field("name").strip())
        view.redirect(f"{PAGE}?notice=group-created")


class GroupMembers:
    @tenant_admin("group.member.add")
    def on_post(self, req: falcon.Request, resp: falcon.Response, group: str) -> None:
        """Add a member (``remove``: on takes them out instead)."""
        view = view_of(req)
        ctx = req.context
        tenant = ctx.principal.tenant_id
        found = groups.get_group(ctx.db, tenant, group)
        member = users.get_user(ctx.db, tenant, view.field("user").strip())
        if view.field("remove") == "on":
            groups.remove_member(ctx.db, ctx.caller, found, member)
            view.redirect(f"{PAGE}?notice=member-removed")
            return
        groups.add_member(ctx.db, ctx.caller, found, member)
        view.redirect(f"{PAGE}?notice=member-added")
