"""What a remote or a virtual repository adds, read from the UI's forms.

A remote has an upstream (URL, optional username and password, metadata TTL);
a virtual has members (repositories of its format, in lookup order) and merge
patterns.  The forms give the fields ``POST /v1/repos`` and
``PATCH /v1/repos/{repo}`` take, checked against the API's own schema and
applied by the same services, so the UI can configure nothing the API
refuses.  The stored password is never shown back: an empty password field
keeps it, a checkbox forgets it.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from artifortress.errors import ValidationFailed
from artifortress.repos.kinds import REMOTE, VIRTUAL
from artifortress.repos.models import Repository
from artifortress.repos.resources import KIND_FIELDS
from artifortress.repos.services import list_readable, repo_detail_json
from artifortress.ui.view import View

#: Suggestions offered for a virtual's members (a datalist; any key may be typed).
MAX_CHOICES = 500
#: Empty member inputs offered besides the current members.
SPARE_SLOTS = 4
MAX_MEMBERS = 100
MAX_PASSWORD = 1024
_SCHEMA = {"type": "object", "properties": KIND_FIELDS}


def kind_fields(view: View, kind: str) -> dict[str, Any]:
    """The form's fields for a repository of *kind*, as the API takes them (none for hosted)."""
    if kind == REMOTE:
        fields = _remote_fields(view)
    elif kind == VIRTUAL:
        fields = _virtual_fields(view)
    else:
        return {}
    _check(fields)
    return fields


def _remote_fields(view: View) -> dict[str, Any]:
    upstream: dict[str, Any] = {}
    if "upstream_url" in view.form:  # absent for those who may not move the upstream
        upstream["url"] = view.field("upstream_url").strip()
    upstream["username"] = view.field("upstream_username").strip() or None
    password = view.field("upstream_password")
    if len(password) > MAX_PASSWORD:  # said here: the schema's refusal would echo it
        raise ValidationFailed(f"the upstream password is at most {MAX_PASSWORD} characters")
    if password:
        upstream["password"] = password
    elif view.field("forget_password") == "on":
        upstream["password"] = None
    fields: dict[str, Any] = {"upstream": upstream}
    ttl = view.field("metadata_ttl").strip()
    if ttl:
        fields["metadata_ttl"] = int(ttl) if ttl.isdigit() and len(ttl) < 10 else ttl
    return fields


def _virtual_fields(view: View) -> dict[str, Any]:
    members = [key.strip() for key in view.form.get("members", []) if key.strip()]
    patterns = [line.strip() for line in view.field("merge_patterns").splitlines()]
    return {"members": members, "merge_patterns": [p for p in patterns if p]}


def _check(fields: dict[str, Any]) -> None:
    """The API's schema for these fields, with the password left out of what is echoed."""
    shown = dict(fields)
    if "upstream" in shown:
        shown["upstream"] = {k: v for k, v in shown["upstream"].items() if k != "password"}
    try:
        jsonschema.validate(shown, _SCHEMA)
    except jsonschema.ValidationError as invalid:
        where = ".".join(str(part) for part in invalid.absolute_path) or "settings"
        raise ValidationFailed(f"{where.replace('_', ' ')}: {invalid.message}") from None


def member_choices(view: View, format: str | None, exclude: str = "") -> list[Repository]:
    """Repositories the user may read, to suggest as members (of *format* when known)."""
    rows, _ = list_readable(view.req.context.db, view.principal, cursor=None, limit=MAX_CHOICES)
    return [r for r in rows if r.key != exclude and (format is None or r.format == format)]


def new_form_context(view: View, typed: bool = False) -> dict[str, Any]:
    """The new-repository form's remote and virtual fields: empty, or as *typed* (a refusal)."""
    detail = _typed(view, {}) if typed else {}
    choices = member_choices(view, None)
    return {**_form_context(detail, choices, may_move_upstream=True), "editing": False}


def settings_context(view: View, repo: Repository, typed: bool = False) -> dict[str, Any]:
    """What the settings page shows of *repo*'s kind: upstream or members, and their forms.

    *typed*: the values of the form just refused, so the user fixes rather than retypes them.
    """
    if repo.kind not in (REMOTE, VIRTUAL):
        return {"kind_detail": None}
    detail = repo_detail_json(view.req.context.db, repo)  # never the password
    if typed:
        detail = _typed(view, detail)
    choices = member_choices(view, repo.format, repo.key) if repo.kind == VIRTUAL else []
    context = _form_context(detail, choices, view.principal.is_tenant_admin)
    return {**context, "editing": True}


def _typed(view: View, stored: dict[str, Any]) -> dict[str, Any]:
    """The form's values in the shape of ``repo_detail_json`` (the password never comes back)."""
    upstream = dict(stored.get("upstream", {}))
    if "upstream_url" in view.form:
        upstream["url"] = view.field("upstream_url")
    upstream["username"] = view.field("upstream_username")
    return {
        "upstream": upstream,
        "metadata_ttl": view.field("metadata_ttl"),
        **_virtual_fields(view),
    }


def _form_context(
    detail: dict[str, Any], choices: list[Repository], may_move_upstream: bool
) -> dict[str, Any]:
    members = detail.get("members", [])
    slots = min(MAX_MEMBERS, len(members) + SPARE_SLOTS)
    return {
        "kind_detail": detail,
        "upstream": detail.get("upstream", {}),
        "metadata_ttl": detail.get("metadata_ttl", ""),
        "merge_patterns": detail.get("merge_patterns", []),
        "member_slots": [*members, *[""] * (slots - len(members))],
        "member_choices": choices,
        "may_move_upstream": may_move_upstream,
    }
