"""REST for packages and versions under ``/v1/repos/{repo}/packages/{package}/...``.

A package name containing ``/`` (an npm scope, a Go module path) is
addressed as ``/packages/{name}/-/...`` (see :mod:`~artifortress.versions.package_paths`);
a two-segment one also as ``/packages/{package}/{subname}/...``, so every
package route is registered in both shapes (see :func:`package_routes`).
Responders take the URL fields as ``**url``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from artifortress.formats import normalize_name
from artifortress.http.body import json_body, query_param, send_json
from artifortress.http.openapi import answers
from artifortress.http.permissions import authorize, requires
from artifortress.pagination import clamp_limit
from artifortress.rbac.permissions import Permission
from artifortress.repos.services import REPO_KEY, entity_of
from artifortress.versions import labels, lifecycle, queries
from artifortress.versions.draft_resources import draft_routes
from artifortress.versions.models import QUARANTINED, Version

REASON = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"reason": {"type": "string", "maxLength": 1000}},
}

MESSAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["message"],
    "properties": {"message": {"type": "string", "minLength": 1, "maxLength": 1000}},
}

PROMOTE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["target"],
    "properties": {"target": {"type": "string", "pattern": REPO_KEY.pattern}},
}

LABEL_PUT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version"],
    "properties": {"version": {"type": "string", "minLength": 1, "maxLength": 128}},
}


def _package_name(req: falcon.Request, url: Mapping[str, str]) -> str:
    """The package of the URL, in its format's spelling; the format's names decide what exists.

    A name of one or two segments comes as ``{package}[/{subname}]``; any name
    as ``{name}/-/...``, folded before routing (:mod:`~artifortress.versions.package_paths`).
    """
    name = req.context.package_path
    if name is None:
        subname = url.get("subname")
        name = url["package"] if subname is None else f"{url['package']}/{subname}"
    return normalize_name(req.context.services.plugins, req.context.repo.format, name)


def _version(req: falcon.Request, url: Mapping[str, str], version: str | None = None) -> Version:
    ctx = req.context
    number = url["version"] if version is None else version
    return queries.get_version(ctx.db, ctx.repo, _package_name(req, url), number)


def _send(resp: falcon.Response, version: Version, status: int = 200) -> None:
    send_json(resp, queries.version_to_json(version), status=status)


class PackagesResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Packages with a published version, by name, paginated."""
        ctx = req.context
        limit = clamp_limit(query_param(req, "limit", int))
        rows, cursor = queries.list_packages(
            ctx.db, ctx.repo, cursor=req.get_param("cursor"), limit=limit
        )
        packages = [queries.package_to_json(p) for p in rows]
        send_json(resp, {"packages": packages, "next_cursor": cursor})


class PackageResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """A package with its published versions and labels."""
        ctx = req.context
        pkg = queries.get_package(ctx.db, ctx.repo, _package_name(req, url))
        versions = [queries.version_to_json(v) for v in queries.versions_of(ctx.db, pkg)]
        package = queries.package_to_json(pkg)
        send_json(resp, {**package, "versions": versions, "labels": labels.labels_of(ctx.db, pkg)})


class VersionResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """One published version with its files."""
        _send(resp, _version(req, url))

    @requires(Permission.WRITE, action="version.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Delete tombstone-first: hidden at once, restorable by an admin within the retention."""
        _send(resp, lifecycle.tombstone(req.context.db, req.context.caller, _version(req, url)))


class YankResource:
    @requires(Permission.WRITE, action="version.yank")
    @json_body(REASON)
    @answers(200)
    def on_post(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Yank a version (installers skip it unless pinned exactly)."""
        ctx = req.context
        reason = ctx.body.get("reason")
        _send(resp, lifecycle.set_yanked(ctx.db, ctx.caller, _version(req, url), True, reason))

    @requires(Permission.WRITE, action="version.unyank")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Un-yank a version."""
        ctx = req.context
        _send(resp, lifecycle.set_yanked(ctx.db, ctx.caller, _version(req, url), False))


class DeprecateResource:
    @requires(Permission.WRITE, action="version.deprecate")
    @json_body(MESSAGE)
    @answers(200)
    def on_post(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Deprecate a version with a message shown to installers."""
        ctx = req.context
        message = ctx.body["message"]
        _send(resp, lifecycle.set_deprecated(ctx.db, ctx.caller, _version(req, url), message))

    @requires(Permission.WRITE, action="version.undeprecate")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Remove a deprecation."""
        ctx = req.context
        _send(resp, lifecycle.set_deprecated(ctx.db, ctx.caller, _version(req, url), None))


class RestoreResource:
    @requires(Permission.ADMIN, action="version.restore")
    @answers(200, 410)
    def on_post(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Restore a deleted version within the retention window (repository admins)."""
        ctx = req.context
        found = queries.tombstoned_version(
            ctx.db, ctx.repo, _package_name(req, url), url["version"]
        )
        retention = ctx.services.settings.tombstone_retention
        _send(resp, lifecycle.restore(ctx.db, ctx.caller, found, retention))


class PromoteResource:
    @requires(Permission.PROMOTE, action="version.promote")
    @json_body(PROMOTE)
    @answers(201, 202)
    def on_post(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Copy a published version into another repository by reference.

        Needs ``promote`` on this repository and ``write`` on the target.  The
        target's policies judge it as a publish there: 403 (nothing copied)
        when one rejects it, 202 with state ``quarantined`` when one holds it back.
        """
        ctx = req.context
        found = _version(req, url)
        target, _ = authorize(req, ctx.body["target"], Permission.WRITE)
        promoted = lifecycle.promote(
            ctx.db, ctx.caller, ctx.repo, found, entity_of(ctx.db, target), ctx.services.plugins
        )
        _send(resp, promoted, status=202 if promoted.state == QUARANTINED else 201)


class LabelResource:
    @requires(Permission.WRITE, action="label.set")
    @json_body(LABEL_PUT)
    def on_put(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Point a label (e.g. an npm dist-tag) at a published version."""
        ctx = req.context
        found = _version(req, url, ctx.body["version"])
        labels.set_label(ctx.db, ctx.caller, found, url["label"])
        send_json(resp, {"label": url["label"], "version": found.version})

    @requires(Permission.WRITE, action="label.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, **url: str) -> None:
        """Remove a label."""
        ctx = req.context
        pkg = queries.get_package(ctx.db, ctx.repo, _package_name(req, url))
        labels.delete_label(ctx.db, ctx.caller, ctx.repo, pkg, url["label"])
        send_json(resp, {"removed": url["label"]})


def package_routes() -> list[tuple[str, Any]]:
    """``(path, resource)`` for every package route, unscoped and ``@scope/name`` shaped."""
    base = "/v1/repos/{repo}/packages"
    per_package: list[tuple[str, Any]] = [
        ("", PackageResource()),
        ("/versions/{version}", VersionResource()),
        ("/versions/{version}/yank", YankResource()),
        ("/versions/{version}/deprecation", DeprecateResource()),
        ("/versions/{version}/restore", RestoreResource()),
        ("/versions/{version}/promote", PromoteResource()),
        ("/labels/{label}", LabelResource()),
    ]
    routes: list[tuple[str, Any]] = [(base, PackagesResource()), *draft_routes(base)]
    for suffix, resource in per_package:
        routes.append((f"{base}/{{package}}{suffix}", resource))
        routes.append((f"{base}/{{package}}/{{subname}}{suffix}", resource))
    return routes
