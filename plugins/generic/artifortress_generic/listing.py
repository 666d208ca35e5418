"""Directory listings of a generic repository, as JSON or as a small HTML page."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from urllib.parse import quote

from artifortress.plugin import BadRequest, Gateway, NotFound, RepoInfo

PAGE_SIZE = 500


def entries(gateway: Gateway, repo: RepoInfo, segments: Sequence[str]) -> list[str]:
    """Names under a directory: packages, a package's versions, or a version's files."""
    if not segments:
        return [p.name + "/" for p in gateway.packages(repo)]
    if len(segments) == 1:
        versions = gateway.versions(repo, segments[0])
        if not versions:
            raise NotFound(f"no package {segments[0]!r} in {repo.key}")
        return [v.version + "/" for v in versions]
    version = gateway.version(repo, segments[0], segments[1])
    if version is None:
        raise NotFound(f"no version {segments[1]!r} of {segments[0]!r} in {repo.key}")
    prefix = "/".join(segments[2:])
    return _children(sorted(a.filename for a in version.artifacts), prefix)


def merged(gateway: Gateway, members: Sequence[RepoInfo], segments: Sequence[str]) -> list[str]:
    """The names of a directory in any of *members* (a virtual's), sorted, each once.

    One member (a hosted or remote repository) lists in its own order.
    """
    if len(members) == 1:
        return entries(gateway, members[0], segments)
    names: set[str] = set()
    missing: NotFound | None = None
    for member in members:
        try:
            names.update(entries(gateway, member, segments))
        except NotFound as exc:
            missing = exc
    if missing is not None and not names and segments:
        raise missing
    return sorted(names)


def _children(filenames: list[str], prefix: str) -> list[str]:
    names: list[str] = []
    lead = prefix + "/" if prefix else ""
    for filename in filenames:
        if not filename.startswith(lead):
            continue
        head, sep, _ = filename[len(lead) :].partition("/")
        name = head + sep
        if not names or names[-1] != name:
            names.append(name)
    if prefix and not names:
        raise NotFound(f"no directory {prefix!r}")
    return names


def page(names: list[str], cursor: str | None, limit: int | None) -> tuple[list[str], str | None]:
    """One page of *names* after *cursor* (the last name of the previous page)."""
    size = PAGE_SIZE if limit is None else limit
    if not 1 <= size <= PAGE_SIZE:
        raise BadRequest(f"limit must be between 1 and {PAGE_SIZE}")
    start = (
        0 if cursor is None else next((i for i, n in enumerate(names) if n > cursor), len(names))
    )
    chunk = names[start : start + size]
    more = start + size < len(names)
    return chunk, (chunk[-1] if more and chunk else None)


def as_json(path: str, names: list[str], next_cursor: str | None) -> bytes:
    return json.dumps({"path": path, "entries": names, "next_cursor": next_cursor}).encode()


def as_html(path: str, names: list[str]) -> bytes:
    title = html.escape(f"Index of /{path}")
    rows = "".join(
        f'<li><a href="{html.escape(quote(name))}">{html.escape(name)}</a></li>' for name in names
    )
    head = f"<!DOCTYPE html><html><head><title>{title}</title></head>"
    return f"{head}<body><h1>{title}</h1><ul>{rows}</ul></body></html>".encode()
