"""Writers change a published version from its page: yank, deprecate (and undo), delete.

A form target per change, ``/ui/repos/{repo}/versions/{yank,unyank,...}``;
``write`` on the repository is required as for the REST API, and a refusal
is audited under the action's API name (``version.yank``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import falcon

from artifortress.errors import ValidationFailed
from artifortress.formats import normalize_name
from artifortress.http.permissions import requires
from artifortress.rbac.permissions import Permission
from artifortress.ui.view import View, view_of
from artifortress.versions import lifecycle, queries
from artifortress.versions.models import Version

MAX_TEXT = 1000
ACTIONS = ("yank", "unyank", "deprecate", "undeprecate", "delete")
NOTICES = {
    "yank": "The version is yanked: installers skip it unless it is pinned exactly.",
    "unyank": "The version is no longer yanked.",
    "deprecate": "The version is deprecated; installers show the message.",
    "undeprecate": "The deprecation was removed.",
}


def _text(view: View, name: str, *, required: bool) -> str | None:
    value = view.field(name).strip()
    if len(value) > MAX_TEXT or (required and not value):
        raise ValidationFailed(f"{name} must have 1 to {MAX_TEXT} characters")
    return value or None


def _change(view: View, version: Version, action: str) -> Version:
    ctx = view.req.context
    db, caller = ctx.db, ctx.caller
    changes: dict[str, Callable[[], Version]] = {
        "yank": lambda: lifecycle.set_yanked(
            db, caller, version, True, _text(view, "reason", required=False)
        ),
        "unyank": lambda: lifecycle.set_yanked(db, caller, version, False),
        "deprecate": lambda: lifecycle.set_deprecated(
            db, caller, version, _text(view, "message", required=True)
        ),
        "undeprecate": lambda: lifecycle.set_deprecated(db, caller, version, None),
        "delete": lambda: lifecycle.tombstone(db, caller, version),
    }
    return changes[action]()


def version_change(action: str) -> object:
    """The form target of one *action*, declared with its API audit name (``version.yank``)."""

    class VersionChange:
        @requires(Permission.WRITE, action=f"version.{action}")
        def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
            """Apply *action* to version ``version`` of package ``package`` (form fields)."""
            _apply(view_of(req), action)

    return VersionChange()


def _apply(view: View, action: str) -> None:
    ctx = view.req.context
    name = normalize_name(ctx.services.plugins, ctx.repo.format, view.field("package"))
    version = queries.get_version(ctx.db, ctx.repo, name, view.field("version"))
    _change(view, version, action)
    if action == "delete":
        view.redirect(f"/ui/repos/{ctx.repo.key}?notice=deleted")
        return
    page = f"/ui/repos/{ctx.repo.key}/packages/{quote(name, safe='/@')}"
    view.redirect(f"{page}?version={quote(version.version)}&notice={action}")
