"""Administering repositories in the UI: create, settings, role bindings, webhook deliveries.

A remote's upstream and a virtual's members are read from the forms by
:mod:`artifortress.ui.repo_kinds`.

The same permission declarations as the API's resources: creating is a
tenant administrator's, a repository's settings and bindings its
administrators' (``admin`` role), so the UI can do nothing the API refuses.
"""

from __future__ import annotations

from typing import Any

import falcon
import jsonschema

from artifortress.auth.users import get_user
from artifortress.errors import BadRequest, Conflict, ValidationFailed
from artifortress.formats import normalize_name
from artifortress.http.path_ids import path_id
from artifortress.http.permissions import requires, tenant_admin
from artifortress.outbox.events import EVENT_TYPES
from artifortress.policy import services as policy
from artifortress.policy.resources import POLICY_SCHEMA
from artifortress.rbac import services as rbac
from artifortress.rbac.groups import get_group, group_bindings_of, set_group_bindings
from artifortress.rbac.permissions import ROLES, Permission
from artifortress.repos.kinds import HOSTED, KINDS, REMOTE, VIRTUAL
from artifortress.repos.services import create_repo, update_repo
from artifortress.ui import queries
from artifortress.ui.repo_kinds import kind_fields, new_form_context, settings_context
from artifortress.ui.view import View, view_of
from artifortress.versions import queries as versions
from artifortress.versions.lifecycle import restore
from artifortress.webhooks.services import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_deliveries,
    list_subscriptions,
)

DELIVERIES_PAGE = 100
DELETED_SHOWN = 100
MAX_URL = 2048
MAX_DESCRIPTION = 2000
NOTICES = {
    "saved": "Saved.",
    "bound": "The roles were updated.",
    "created": "The repository was created.",
    "policy": "The policies were saved; they judge the next publishes.",
    "hooked": "The webhook was added.",
    "restored": "The version was restored: clients see it again.",
    "unhooked": "The webhook and its delivery log were removed.",
}


def _roles(view: View) -> list[str]:
    return [role for role in view.form.get("roles", []) if role]


#: Refusals that send a form back, saying what to fix (what was typed kept, not the password).
FORM_REFUSALS = (BadRequest, Conflict)


class NewRepoPage:
    @tenant_admin("repo.create")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The form that creates a hosted, remote or virtual repository of an installed format."""
        _render_new(view_of(req))

    @tenant_admin("repo.create")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create it, with a remote's upstream or a virtual's members; refused: the form again."""
        view = view_of(req)
        ctx = req.context
        kind = view.field("kind") or HOSTED
        try:
            description = view.field("description").strip()
            if len(description) > MAX_DESCRIPTION:
                raise ValidationFailed(f"the description is at most {MAX_DESCRIPTION} characters")
            repo = create_repo(
                ctx.db,
                ctx.caller,
                ctx.services.formats,
                key=view.field("key").strip(),
                format=view.field("format"),
                public=view.field("public") == "on",
                description=description,
                kind=kind,
                **kind_fields(view, kind),
            )
        except FORM_REFUSALS as refused:  # nothing is created: the transaction goes
            ctx.db.rollback()
            _render_new(view, status=refused.status, failure=refused.message)
            return
        view.redirect(f"/ui/repos/{repo.key}/settings?notice=created")


def _render_new(view: View, status: int = 200, failure: str | None = None) -> None:
    typed = failure is not None
    view.render(
        "repo_new.html",
        status=status,
        failure=failure,
        formats=sorted(view.req.context.services.formats),
        kinds=KINDS,
        values={
            name: view.field(name) if typed else ""
            for name in ("key", "format", "kind", "description", "public")
        },
        **new_form_context(view, typed),
    )


def _render_settings(
    view: View, status: int = 200, typed_kind: bool = False, **extra: object
) -> None:
    ctx = view.req.context
    view.render(
        "repo_settings.html",
        status=status,
        repo=ctx.repo,
        bindings=rbac.bindings_of(ctx.db, ctx.repo),
        group_bindings=group_bindings_of(ctx.db, ctx.repo),
        hooks=list_subscriptions(ctx.db, ctx.repo),
        policy=policy.get_config(ctx.db, ctx.repo.id),
        deleted=queries.deleted_versions(ctx.db, ctx.repo.id, DELETED_SHOWN),
        retention_days=ctx.services.settings.tombstone_retention / 86400,
        roles=ROLES,
        event_types=EVENT_TYPES,
        notice=NOTICES.get(view.req.get_param("notice") or ""),
        **settings_context(view, ctx.repo, typed_kind),
        **extra,
    )


class RepoSettingsPage:
    @requires(Permission.ADMIN, action="binding.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """A repository's public flag and description, who holds which roles, its webhooks."""
        _render_settings(view_of(req))

    @requires(Permission.ADMIN, action="repo.update")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Change the public flag and the description."""
        view = view_of(req)
        ctx = req.context
        description = view.field("description").strip()
        if len(description) > MAX_DESCRIPTION:
            raise ValidationFailed(f"the description is at most {MAX_DESCRIPTION} characters")
        fields = {"public": view.field("public") == "on", "description": description}
        update_repo(ctx.db, ctx.caller, ctx.repo, fields)
        view.redirect(f"/ui/repos/{ctx.repo.key}/settings?notice=saved")


class KindForm:
    @requires(Permission.ADMIN, action="repo.update")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Change a remote's upstream and TTL, or a virtual's members and merge patterns."""
        view = view_of(req)
        ctx = req.context
        if ctx.repo.kind not in (REMOTE, VIRTUAL):
            raise ValidationFailed(f"{ctx.repo.key} is hosted: it has no upstream or members")
        try:
            update_repo(ctx.db, ctx.caller, ctx.repo, kind_fields(view, ctx.repo.kind))
        except FORM_REFUSALS as refused:  # the form again, as typed, saying what to fix
            ctx.db.rollback()
            _render_settings(
                view, status=refused.status, typed_kind=True, kind_failure=refused.message
            )
            return
        view.redirect(f"/ui/repos/{ctx.repo.key}/settings?notice=saved")


class PolicyForm:
    @requires(Permission.ADMIN, action="policy.set")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Replace the built-in policies' settings (third parties' ``extra`` is kept)."""
        view = view_of(req)
        ctx = req.context
        config = _policy_config(view, policy.get_config(ctx.db, ctx.repo.id))
        policy.set_config(ctx.db, ctx.caller, ctx.repo, config)
        view.redirect(f"/ui/repos/{ctx.repo.key}/settings?notice=policy")


def _lines(raw: str) -> list[str]:
    """One entry per line or comma, blanks dropped."""
    return [item.strip() for item in raw.replace(",", "\n").splitlines() if item.strip()]


def _whole_number(view: View, name: str) -> int | None:
    raw = view.field(name).strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed(f"{name.replace('_', ' ')} must be a whole number")
    return int(raw)


def _policy_config(view: View, current: dict[str, Any]) -> dict[str, Any]:
    licenses = _lines(view.field("allowed_licenses"))
    config = {
        "max_artifact_size": _whole_number(view, "max_artifact_size"),
        "allowed_licenses": licenses or None,
        "blocked_name_patterns": _lines(view.field("blocked_name_patterns")),
        "typosquat": view.field("typosquat") == "on",
        "typosquat_distance": _whole_number(view, "typosquat_distance"),
        "require_verified_provenance": view.field("require_verified_provenance") == "on",
        "extra": current.get("extra") or {},
    }
    try:
        jsonschema.validate(config, POLICY_SCHEMA)
    except jsonschema.ValidationError as invalid:
        where = ".".join(str(part) for part in invalid.absolute_path) or "policy"
        raise ValidationFailed(f"{where}: {invalid.message}") from None
    return config


class UserBindingForm:
    @requires(Permission.ADMIN, action="binding.set")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Replace a user's roles on the repository (none: remove them)."""
        view = view_of(req)
        ctx = req.context
        user = get_user(ctx.db, ctx.principal.tenant_id, view.field("user").strip())
        rbac.set_bindings(ctx.db, ctx.caller, ctx.repo, user, _roles(view))
        view.redirect(f"/ui/repos/{ctx.repo.key}/settings?notice=bound")


class GroupBindingForm:
    @requires(Permission.ADMIN, action="group_binding.set")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Replace a group's roles on the repository (none: remove them)."""
        view = view_of(req)
        ctx = req.context
        group = get_group(ctx.db, ctx.principal.tenant_id, view.field("group").strip())
        set_group_bindings(ctx.db, ctx.caller, ctx.repo, group, _roles(view))
        view.redirect(f"/ui/repos/{ctx.repo.key}/settings?notice=bound")


class WebhookForm:
    @requires(Permission.ADMIN, action="webhook.create")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Subscribe an http(s) URL to the chosen events (none chosen: all); secret shown once."""
        view = view_of(req)
        ctx = req.context
        url = view.field("url").strip()
        if not url or len(url) > MAX_URL:
            raise ValidationFailed(
                f"a webhook needs an http(s) URL of at most {MAX_URL} characters"
            )
        secret = view.field("secret").strip() or None
        if secret is not None and not 16 <= len(secret) <= 255:
            raise ValidationFailed("a secret has 16 to 255 characters (empty: one is generated)")
        hook, generated = create_subscription(
            ctx.db,
            ctx.caller,
            ctx.repo,
            url=url,
            events=[event for event in view.form.get("events", []) if event],
            secret=secret,
            allow_private=ctx.services.settings.webhook_allow_private,
        )
        if generated is None:
            view.redirect(f"/ui/repos/{ctx.repo.key}/settings?notice=hooked")
            return
        _render_settings(view, status=201, hook_secret=generated, new_hook=hook)


class WebhookDelete:
    @requires(Permission.ADMIN, action="webhook.delete")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str, hook_id: str) -> None:
        """Remove a subscription and its delivery log."""
        ctx = req.context
        delete_subscription(ctx.db, ctx.caller, ctx.repo, path_id(hook_id, "webhook"))
        view_of(req).redirect(f"/ui/repos/{ctx.repo.key}/settings?notice=unhooked")


class VersionRestore:
    @requires(Permission.ADMIN, action="version.restore")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Bring a deleted version back within the retention window (410 after it)."""
        view = view_of(req)
        ctx = req.context
        name = normalize_name(ctx.services.plugins, ctx.repo.format, view.field("package"))
        found = versions.tombstoned_version(ctx.db, ctx.repo, name, view.field("version"))
        restore(ctx.db, ctx.caller, found, ctx.services.settings.tombstone_retention)
        view.redirect(f"/ui/repos/{ctx.repo.key}/settings?notice=restored")


class WebhookDeliveriesPage:
    @requires(Permission.ADMIN, action="webhook.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, hook_id: str) -> None:
        """One webhook's delivery log, newest first."""
        view = view_of(req)
        ctx = req.context
        hook = get_subscription(ctx.db, ctx.repo, path_id(hook_id, "webhook"))
        rows = list_deliveries(ctx.db, hook, before=None, limit=DELIVERIES_PAGE)
        view.render("webhook.html", repo=ctx.repo, hook=hook, rows=rows)
