"""REST for drafts, packages, versions and their lifecycle under ``/v1/repos/{repo}/packages``.

Package names containing ``/`` (npm scopes) are addressed as two path
segments, ``/packages/@scope/name/...`` (``subname`` is the part after the
slash); every package route is registered in both shapes (see
:func:`package_routes`).
"""

from __future__ import annotations

from typing import Any

import falcon

from artifortress.errors import NotFound
from artifortress.formats import normalize_name
from artifortress.http.body import json_body, query_param, send_json
from artifortress.http.permissions import authorize, requires
from artifortress.pagination import clamp_limit
from artifortress.rbac.permissions import Permission
from artifortress.versions import drafts, labels, lifecycle, queries
from artifortress.versions.models import QUARANTINED, Version

DRAFT_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["package", "version"],
    "properties": {
        "package": {"type": "string", "minLength": 1, "maxLength": 214},
        "version": {"type": "string", "minLength": 1, "maxLength": 128},
        "metadata": {"type": "object"},
    },
}
ARTIFACT_ADD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["filename", "digest"],
    "properties": {
        "filename": {"type": "string", "minLength": 1, "maxLength": 255},
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "size": {"type": "integer", "minimum": 0},
        "media_type": {"type": "string", "maxLength": 255},
        "metadata": {"type": "object"},
    },
}
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
    "properties": {"target": {"type": "string"}},
}
LABEL_PUT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version"],
    "properties": {"version": {"type": "string"}},
}


def _package_name(req: falcon.Request, package: str, subname: str | None) -> str:
    """Join the two-segment form ``@scope/name``; only scopes may use it."""
    if subname is not None and not package.startswith("@"):
        raise NotFound(f"no package {package}/{subname}: only @scope/name has two segments")
    name = f"{package}/{subname}" if subname else package
    return normalize_name(req.context.services.plugins, req.context.repo.format, name)


def _version(req: falcon.Request, package: str, version: str, subname: str | None) -> Version:
    return queries.get_version(
        req.context.db, req.context.repo, _package_name(req, package, subname), version
    )


class DraftsResource:
    @requires(Permission.WRITE, action="draft.create")
    @json_body(DRAFT_CREATE)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Open a draft version; add files to it, then publish it."""
        ctx = req.context
        body: dict[str, Any] = ctx.body
        draft = drafts.create_draft(
            ctx.db,
            ctx.caller,
            ctx.repo,
            package=normalize_name(ctx.services.plugins, ctx.repo.format, body["package"]),
            display_name=body["package"],
            version=body["version"],
            metadata=body.get("metadata"),
            ttl_seconds=ctx.services.settings.draft_ttl,
        )
        resp.location = f"/v1/repos/{repo}/packages/versions/drafts/{draft.id}"
        send_json(resp, queries.version_to_json(draft), status=201)


class DraftResource:
    @requires(Permission.WRITE)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: int) -> None:
        """One open draft with its files."""
        send_json(
            resp,
            queries.version_to_json(drafts.get_draft(req.context.db, req.context.repo, draft_id)),
        )

    @requires(Permission.WRITE, action="draft.discard")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: int
    ) -> None:
        """Discard an open draft."""
        ctx = req.context
        draft = drafts.get_draft(ctx.db, ctx.repo, draft_id)
        drafts.discard_draft(ctx.db, ctx.caller, ctx.repo, draft)
        send_json(resp, {"discarded": draft_id})


class DraftArtifactsResource:
    @requires(Permission.WRITE, action="draft.add_file")
    @json_body(ARTIFACT_ADD)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: int) -> None:
        """Add a file that references a blob committed in this repository."""
        ctx = req.context
        draft = drafts.get_draft(ctx.db, ctx.repo, draft_id)
        artifact = drafts.add_artifact(ctx.db, ctx.caller, draft, drafts.ArtifactInput(**ctx.body))
        send_json(resp, queries.artifact_to_json(artifact), status=201)


class DraftArtifactResource:
    @requires(Permission.WRITE, action="draft.remove_file")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: int, filename: str
    ) -> None:
        """Remove a file from an open draft."""
        ctx = req.context
        drafts.remove_artifact(drafts.get_draft(ctx.db, ctx.repo, draft_id), filename)
        send_json(resp, {"removed": filename})


class PublishResource:
    @requires(Permission.WRITE, action="version.publish")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: int) -> None:
        """Publish a draft atomically; 409 if the version already exists.

        Repository policies judge it first: 403 (nothing published) when one
        rejects it, 202 with state ``quarantined`` when one holds it back.
        """
        ctx = req.context
        draft = drafts.get_draft(ctx.db, ctx.repo, draft_id)
        version = drafts.publish(ctx.db, ctx.caller, ctx.repo, draft, ctx.services.plugins)
        status = 202 if version.state == QUARANTINED else 200
        send_json(resp, queries.version_to_json(version), status=status)


class PackagesResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Packages with a published version, by name, paginated."""
        ctx = req.context
        rows, cursor = queries.list_packages(
            ctx.db,
            ctx.repo,
            cursor=req.get_param("cursor"),
            limit=clamp_limit(query_param(req, "limit", int)),
        )
        send_json(
            resp, {"packages": [queries.package_to_json(p) for p in rows], "next_cursor": cursor}
        )


class PackageResource:
    @requires(Permission.READ)
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        subname: str | None = None,
    ) -> None:
        """A package with its published versions and labels."""
        ctx = req.context
        pkg = queries.get_package(ctx.db, ctx.repo, _package_name(req, package, subname))
        versions = queries.versions_of(ctx.db, pkg)
        send_json(
            resp,
            {
                **queries.package_to_json(pkg),
                "versions": [queries.version_to_json(v) for v in versions],
                "labels": labels.labels_of(ctx.db, pkg),
            },
        )


class VersionResource:
    @requires(Permission.READ)
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        subname: str | None = None,
    ) -> None:
        """One published version with its files."""
        send_json(resp, queries.version_to_json(_version(req, package, version, subname)))

    @requires(Permission.WRITE, action="version.delete")
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        subname: str | None = None,
    ) -> None:
        """Delete tombstone-first: hidden at once, restorable by an admin within the retention."""
        ctx = req.context
        found = _version(req, package, version, subname)
        send_json(resp, queries.version_to_json(lifecycle.tombstone(ctx.db, ctx.caller, found)))


class YankResource:
    @requires(Permission.WRITE, action="version.yank")
    @json_body(REASON)
    def on_post(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        subname: str | None = None,
    ) -> None:
        """Yank a version (installers skip it unless pinned exactly)."""
        ctx = req.context
        found = _version(req, package, version, subname)
        lifecycle.set_yanked(ctx.db, ctx.caller, found, True, ctx.body.get("reason"))
        send_json(resp, queries.version_to_json(found))

    @requires(Permission.WRITE, action="version.unyank")
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        subname: str | None = None,
    ) -> None:
        """Un-yank a version."""
        ctx = req.context
        found = _version(req, package, version, subname)
        lifecycle.set_yanked(ctx.db, ctx.caller, found, False)
        send_json(resp, queries.version_to_json(found))


class DeprecateResource:
    @requires(Permission.WRITE, action="version.deprecate")
    @json_body(MESSAGE)
    def on_post(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        subname: str | None = None,
    ) -> None:
        """Deprecate a version with a message shown to installers."""
        ctx = req.context
        found = _version(req, package, version, subname)
        lifecycle.set_deprecated(ctx.db, ctx.caller, found, ctx.body["message"])
        send_json(resp, queries.version_to_json(found))

    @requires(Permission.WRITE, action="version.undeprecate")
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        subname: str | None = None,
    ) -> None:
        """Remove a deprecation."""
        ctx = req.context
        found = _version(req, package, version, subname)
        lifecycle.set_deprecated(ctx.db, ctx.caller, found, None)
        send_json(resp, queries.version_to_json(found))


class RestoreResource:
    @requires(Permission.ADMIN, action="version.restore")
    def on_post(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        subname: str | None = None,
    ) -> None:
        """Restore a deleted version within the retention window (repository admins)."""
        ctx = req.context
        found = queries.tombstoned_version(
            ctx.db, ctx.repo, _package_name(req, package, subname), version
        )
        restored = lifecycle.restore(
            ctx.db, ctx.caller, found, ctx.services.settings.tombstone_retention
        )
        send_json(resp, queries.version_to_json(restored))


class PromoteResource:
    @requires(Permission.PROMOTE, action="version.promote")
    @json_body(PROMOTE)
    def on_post(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        subname: str | None = None,
    ) -> None:
        """Copy a published version into another repository by reference.

        Needs ``promote`` on this repository and ``write`` on the target.
        """
        ctx = req.context
        found = _version(req, package, version, subname)
        target, _ = authorize(req, ctx.body["target"], Permission.WRITE)
        copy = lifecycle.promote(ctx.db, ctx.caller, ctx.repo, found, target)
        send_json(resp, queries.version_to_json(copy), status=201)


class LabelResource:
    @requires(Permission.WRITE, action="label.set")
    @json_body(LABEL_PUT)
    def on_put(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        label: str,
        subname: str | None = None,
    ) -> None:
        """Point a label (e.g. an npm dist-tag) at a published version."""
        ctx = req.context
        found = _version(req, package, ctx.body["version"], subname)
        labels.set_label(ctx.db, ctx.caller, found, label)
        send_json(resp, {"label": label, "version": found.version})

    @requires(Permission.WRITE, action="label.delete")
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        label: str,
        subname: str | None = None,
    ) -> None:
        """Remove a label."""
        ctx = req.context
        pkg = queries.get_package(ctx.db, ctx.repo, _package_name(req, package, subname))
        labels.delete_label(ctx.db, ctx.caller, ctx.repo, pkg, label)
        send_json(resp, {"removed": label})


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
    routes: list[tuple[str, Any]] = [
        (base, PackagesResource()),
        (f"{base}/versions/drafts", DraftsResource()),
        (f"{base}/versions/drafts/{{draft_id:int}}", DraftResource()),
        (f"{base}/versions/drafts/{{draft_id:int}}/artifacts", DraftArtifactsResource()),
        (
            f"{base}/versions/drafts/{{draft_id:int}}/artifacts/{{filename:path}}",
            DraftArtifactResource(),
        ),
        (f"{base}/versions/drafts/{{draft_id:int}}/publish", PublishResource()),
    ]
    for suffix, resource in per_package:
        routes.append((f"{base}/{{package}}{suffix}", resource))
        routes.append((f"{base}/{{package}}/{{subname}}{suffix}", resource))
    return routes
