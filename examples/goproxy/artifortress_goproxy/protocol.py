"""The GOPROXY URLs and answers, as pure functions (https://go.dev/ref/mod#goproxy-protocol).

Under a proxy's base URL, for a case-escaped module path and version:
``$module/@v/list``, ``$module/@v/$version.info`` (JSON ``Version`` and ``Time``),
``$module/@v/$version.mod``, ``$module/@v/$version.zip`` and ``$module/@latest``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Literal

from artifortress_goproxy.errors import GoProxyError
from artifortress_goproxy.modpath import check_path, unescape
from artifortress_goproxy.semver import is_canonical, parse

Kind = Literal["list", "latest", "info", "mod", "zip"]
_FILE_KINDS: tuple[Kind, ...] = ("info", "mod", "zip")


@dataclasses.dataclass(frozen=True)
class GoRequest:
    """One GOPROXY URL, unescaped: which module, what about it, which version (if any)."""

    module: str
    kind: Kind
    version: str = ""

    def filename(self) -> str:
        """The stored file this URL names (``v1.0.0.zip``); ``.info`` is not a file."""
        return f"{self.version}.{self.kind}"


def parse_url(tail: str) -> GoRequest:
    """*tail*, the URL path after the proxy's base; 404 for URLs of no GOPROXY answer."""
    if tail.endswith("/@latest"):
        return GoRequest(_module(tail.removesuffix("/@latest")), "latest")
    escaped, found, rest = tail.rpartition("/@v/")
    if not found:
        raise GoProxyError(f"{tail!r} is no GOPROXY URL ($module/@v/... or $module/@latest)", 404)
    if rest == "list":
        return GoRequest(_module(escaped), "list")
    stem, _, kind = rest.rpartition(".")
    for known in _FILE_KINDS:
        if kind == known and stem:
            return GoRequest(_module(escaped), known, unescape(stem, "version"))
    raise GoProxyError(f"{tail!r}: the GOPROXY protocol has only .info, .mod and .zip", 404)


def _module(escaped: str) -> str:
    return check_path(unescape(escaped))


def version_list(versions: list[str]) -> bytes:
    """The body of ``@v/list``: one version per line."""
    return "".join(f"{version}\n" for version in versions).encode()


def info(version: str, published: dt.datetime | None) -> bytes:
    """The ``.info`` JSON. A pseudo-version's time is its commit's, else the publication's."""
    commit = parse(version).commit_time if is_canonical(version) else None
    when = commit or published or dt.datetime.now(dt.UTC)
    stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"Version": version, "Time": stamp}).encode()
