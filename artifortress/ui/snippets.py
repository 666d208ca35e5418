"""Copy-ready install commands for a package, pointing at this gateway.

Keyed by format: the URLs are those of the client protocols (SPEC, "HTTP
surface"), so they are the ones users put into their clients.  A format this
module does not know gets the generic download of each file with curl.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Snippet:
    tool: str
    command: str


def install_snippets(
    base_url: str, format: str, repo: str, name: str, version: str, files: Sequence[str]
) -> list[Snippet]:
    """The commands that install *name* at *version* from repository *repo* of *base_url*."""
    base = base_url.rstrip("/")
    if format == "pypi":
        return _pypi(f"{base}/pypi/{repo}/simple/", name, version)
    if format == "npm":
        return _npm(f"{base}/npm/{repo}/", name, version)
    if format == "oci":
        return _oci(base, repo, name, version)
    if format == "generic":
        return [
            Snippet("curl", f"curl -fLO {shlex.quote(f'{base}/generic/{repo}/{path}')}")
            for path in files[:5]
        ]
    return []


def _pypi(index: str, name: str, version: str) -> list[Snippet]:
    pinned = shlex.quote(f"{name}=={version}")
    return [
        Snippet("pip", f"pip install --index-url {index} {pinned}"),
        Snippet("uv", f"uv pip install --index-url {index} {pinned}"),
        Snippet(
            "poetry",
            f"poetry source add --priority=primary artifortress {index}\n"
            f"poetry add --source artifortress {shlex.quote(f'{name}@{version}')}",
        ),
    ]


def _npm(registry: str, name: str, version: str) -> list[Snippet]:
    spec = shlex.quote(f"{name}@{version}")
    return [
        Snippet("npm", f"npm install --registry {registry} {spec}"),
        Snippet("pnpm", f"pnpm add --registry {registry} {spec}"),
        Snippet("yarn", f"yarn config set npmRegistryServer {registry}\nyarn add {spec}"),
    ]


def _oci(base: str, repo: str, name: str, version: str) -> list[Snippet]:
    """Pull by digest: an image's version is its manifest's digest (``sha256-<hex>``)."""
    host = base.split("://", 1)[-1]
    reference = shlex.quote(f"{host}/{repo}/{name}@{version.replace('-', ':', 1)}")
    return [
        Snippet("podman", f"podman pull {reference}"),
        Snippet("docker", f"docker pull {reference}"),
    ]
