"""Package names of any number of segments in ``/v1/repos/{repo}/packages/...`` URLs.

A format defines its names: npm's ``@scope/name``, a Go module
``example.com/mod/v2`` or a Maven ``group/artifact`` hold slashes, which
falcon's route fields cannot span. Such a name is sent as it is, followed by a
``-`` segment and the rest of the route::

    /v1/repos/go/packages/example.com/hello/-/versions/v1.0.0/restore
    /v1/repos/go/packages/example.com/hello/-                  (the package)

Before routing, :class:`PackagePathMiddleware` folds the name into one segment
and keeps it on ``req.context.package_path``, where the package resources read
it. The last ``-`` segment ends the name: versions and labels start with a
letter or digit, so the rest never holds one, and any name (even one with a
``-`` segment of its own) can be addressed. One- and two-segment names also
work without the ``-`` (``/packages/tool/...``, ``/packages/@scope/name/...``).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import falcon

#: The segment that ends a package name in a URL.
NAME_END = "-"
_PACKAGES = re.compile(r"^(/v1/repos/[^/]+/packages)/(.+)$")


def fold_package_path(req: falcon.Request) -> None:
    """Route a ``{name}/-/{rest}`` package URL as ``{one segment}/{rest}``; keep the name."""
    found = _PACKAGES.match(req.path)
    if found is None:
        return
    segments = found.group(2).split("/")
    if NAME_END not in segments[1:]:
        return
    end = len(segments) - 1 - segments[::-1].index(NAME_END)
    name = "/".join(segments[:end])
    req.context.package_path = name
    # The folded segment only routes (and shows in the access log); the name is the context's.
    req.path = "/".join([found.group(1), quote(name, safe=""), *segments[end + 1 :]])


class PackagePathMiddleware:
    """Folds package names with slashes before falcon routes the request."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        fold_package_path(req)
