"""What a format plugin declares: its format, its routes, how it answers errors."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from artifortress.versions.validation import clean_name

if TYPE_CHECKING:
    import falcon

    from artifortress.errors import ArtifortressError

FORMAT_NAME = re.compile(r"^[a-z][a-z0-9]{1,31}$")
#: First path segments the core owns; no format may take them.
RESERVED_NAMES = frozenset({"v1", "healthz", "readyz", "metrics", "static"})

ErrorRenderer = Callable[["falcon.Request", "falcon.Response", "ArtifortressError"], None]


@dataclasses.dataclass(frozen=True)
class Prefetch:
    """One GET that pre-warms a remote or virtual repository (``artifortress remote prefetch``).

    *path* is under the repository's mount: ``simple/requests/`` asks for
    ``/pypi/{repo}/simple/requests/``. *accept* is the request's ``Accept``.
    *links*, for an index page, picks from its body the URLs (absolute, or
    relative to the page) to fetch next, e.g. the files of a pinned version.
    """

    path: str
    accept: str | None = None
    links: Callable[[bytes], Iterable[str]] | None = None


#: Reads a lock file or requirements list (its text) and says what to fetch.
Prefetcher = Callable[[str], Iterable[Prefetch]]


@dataclasses.dataclass(frozen=True)
class FormatSpec:
    """A package format, e.g. ``pypi``; its routes mount under ``/{name}/{repo}/``.

    ``render_error`` answers errors under the format's URLs in the client's own
    protocol (npm wants ``{"error": ...}``, twine reads the reason phrase).
    ``append_files``: a published version may gain new files later (PyPI adds
    wheels to a release; npm never does).  Files already published never change.
    ``prefetch`` reads the format's lock files or requirements lists for
    ``artifortress remote prefetch`` (a pure function of the file's text: the
    core issues the requests); ``None``: the format cannot be pre-warmed.
    ``mount``: the first URL segment of the format's routes when it is not the
    format's name, for a protocol whose clients fix it (OCI clients ask ``/v2/``).
    """

    name: str
    description: str = ""
    render_error: ErrorRenderer | None = None
    append_files: bool = False
    prefetch: Prefetcher | None = None
    mount: str | None = None

    def __post_init__(self) -> None:
        for segment in (self.name, self.mount):
            if segment is not None and (
                not FORMAT_NAME.match(segment) or segment in RESERVED_NAMES
            ):
                raise ValueError(
                    f"format name or mount {segment!r} must match {FORMAT_NAME.pattern} and not "
                    f"be one of {sorted(RESERVED_NAMES)}"
                )

    @property
    def segment(self) -> str:
        """The first URL segment of the format's routes: its mount, else its name."""
        return self.mount or self.name


@dataclasses.dataclass(frozen=True)
class PluginRoute:
    """A route of a format plugin, mounted at ``/{format}/{repo}{template}``.

    *template* starts with ``/`` and uses Falcon's syntax (``/simple/{project}/``);
    the mount adds the ``{repo}`` field, which permission checks rely on.
    ``per_repo=False`` mounts a route of the whole format at ``/{format}{template}``
    (OCI's ``/v2/`` and ``/v2/_catalog``): its template is ``/`` or starts with a
    segment no repository key can be (``/_catalog``), so it never hides a repository.
    A format with a ``mount`` has it in place of its name in both.
    """

    format: str
    template: str
    resource: Any
    per_repo: bool = True

    @property
    def path(self) -> str:
        return self.path_under(self.format)

    def path_under(self, segment: str) -> str:
        """The route's URL path when its format's routes mount under ``/{segment}``."""
        repo = "/{repo}" if self.per_repo else ""
        return f"/{segment}{repo}{self.template}"


def format_at(segment: str, formats: Mapping[str, FormatSpec]) -> FormatSpec | None:
    """The format whose routes mount under the URL segment *segment*, if any."""
    spec = formats.get(segment)
    if spec is not None and spec.mount is None:
        return spec
    return next((f for f in formats.values() if f.mount == segment), None)


def normalize_name(pm: pluggy.PluginManager, format: str, name: str) -> str:
    """The format's canonical spelling of a package name (in NFC if no plugin cares).

    A name no format may store (invisible characters, invalid UTF-8...) is a 400.
    """
    name = clean_name(name)
    normalized = pm.hook.artifortress_normalize_name(format=format, name=name)
    return name if normalized is None else str(normalized)
