"""npm package names: validation for new packages and decoding of every URL form clients use.

Validation follows validate-npm-package-name's rules for *new* packages (its errors and
its warnings both refuse): lowercase, at most 214 characters, URL-safe, no leading ``.``,
``_`` or ``-``, not a Node core module name, not ``node_modules``/``favicon.ico``.

URL forms: npm sends ``@scope%2fname``, pnpm and yarn ``@scope%2Fname`` or ``@scope/name``.
The WSGI server hands the path over percent-decoded (PEP 3333), so all three arrive as
``@scope/name`` and nothing here decodes again: a ``%`` still in the path was sent as
``%25`` and is taken literally (``@sc%252fpkg`` names no package, it is not ``@sc/pkg``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from artifortress_npm.errors import NpmError

MAX_NAME_LENGTH = 214

# Characters encodeURIComponent leaves alone, minus the ones new names may not use
# ("~'!()*") and minus capitals: what a new name part may contain.
_PART = re.compile(r"[a-z0-9._-]+")
# What a name part of a package published before those rules may contain (JSONStream):
# a URL may name one, in a registry that proxies the public one.
_OLD_PART = re.compile(r"[A-Za-z0-9._~'!()*-]+")
_EXCLUDED = frozenset({"node_modules", "favicon.ico"})
# require('module').builtinModules of Node 20 without internals and without the
# "fs/promises" forms, which no unscoped name can match anyway.
_BUILTIN_WORDS = """assert async_hooks buffer child_process cluster console constants crypto dgram
    diagnostics_channel dns domain events fs http http2 https inspector module net os path
    perf_hooks process punycode querystring readline repl stream string_decoder sys timers
    tls trace_events tty url util v8 vm wasi worker_threads zlib"""
_BUILTINS = frozenset(_BUILTIN_WORDS.split())
# A scoped name is the path's first two segments.
_SCOPED_PATH = re.compile(r"(@[^/]*/[^/]*)(.*)", re.DOTALL)


def name_problems(name: str) -> list[str]:
    """Return why ``name`` is not a valid name for a new package (empty when valid)."""
    problems: list[str] = []
    if not name:
        return ["name length must be greater than zero"]
    if name.strip() != name:
        problems.append("name cannot contain leading or trailing spaces")
    if name[0] in "._-":
        problems.append(f"name cannot start with {name[0]!r}")
    if len(name) > MAX_NAME_LENGTH:
        problems.append(f"name can no longer contain more than {MAX_NAME_LENGTH} characters")
    if name.lower() in _EXCLUDED:
        problems.append(f"{name} is not a valid package name")
    if name.lower() in _BUILTINS:
        problems.append(f"{name} is a core module name")
    if name.lower() != name:
        problems.append("name can no longer contain capital letters")
    if not _parts_ok(name):
        problems.append("name can only contain URL-friendly characters")
    return problems


def _parts_ok(name: str, part: re.Pattern[str] = _PART) -> bool:
    """Tell whether ``name`` is ``part`` or ``@part/part`` with URL-safe parts."""
    scope, bare = split_name(name)
    parts = [bare] if scope is None else [scope[1:], bare]
    # A part starting with "." would allow "." and ".." as path segments.
    return all(part.fullmatch(p) and not p.startswith(".") for p in parts)


def validate_name(name: object) -> str:
    """Return ``name`` if it is valid for a new package, else raise a 400 :class:`NpmError`."""
    if not isinstance(name, str):
        raise NpmError("package name must be a string")
    problems = name_problems(name)
    if problems:
        raise NpmError(f"invalid package name {name!r}: " + "; ".join(problems))
    return name


def split_name(name: str) -> tuple[str | None, str]:
    """Split ``@scope/name`` into ``("@scope", "name")`` and ``name`` into ``(None, name)``."""
    if name.startswith("@") and "/" in name:
        scope, _, bare = name.partition("/")
        return scope, bare
    return None, name


def unscoped_name(name: str) -> str:
    """Return the name without its scope: the stem of tarball file names."""
    return split_name(name)[1]


def escaped_name(name: str) -> str:
    """Return the name as npm puts it in a URL (``@scope%2fname``)."""
    return name.replace("/", "%2f")


def tarball_filename(name: str, version: str) -> str:
    """Return the tarball file name of a version: ``{unscoped-name}-{version}.tgz``."""
    return f"{unscoped_name(name)}-{version}.tgz"


def version_from_tarball_filename(name: str, filename: str) -> str | None:
    """Return the version a tarball file name of ``name`` names, or None if it names none."""
    prefix = unscoped_name(name) + "-"
    if not (filename.startswith(prefix) and filename.endswith(".tgz")):
        return None
    version = filename[len(prefix) : -len(".tgz")]
    return version or None


@dataclass(frozen=True)
class NpmPath:
    """A request path split into the package name and what follows it (``""`` or ``/...``)."""

    name: str
    rest: str


def split_path(remainder: str) -> NpmPath:
    """Split a percent-decoded path remainder into package name and rest.

    ``/@scope/name/-/name-1.0.0.tgz`` (sent as ``/@scope%2fname/...`` too), ``/@scope/name``,
    ``/name/1.0.0`` and ``/name/-rev/3-abc`` all work. Names of packages published before
    today's rules (``JSONStream``) are read too: publishing checks new names on its own.
    Raises 400 for a name that cannot be a package name.
    """
    path = remainder[1:] if remainder.startswith("/") else remainder
    if path.startswith("@"):
        match = _SCOPED_PATH.fullmatch(path)
        if match is None:
            raise NpmError(f"invalid scoped package name in {remainder!r}")
        name, rest = match.group(1), match.group(2)
    else:
        name, slash, tail = path.partition("/")
        rest = slash + tail
    if not name or not _parts_ok(name, _OLD_PART) or len(name) > MAX_NAME_LENGTH:
        raise NpmError(f"invalid package name {name!r}")
    return NpmPath(name=name, rest=rest)


@dataclass(frozen=True)
class Target:
    """What a path rest after the package name asks for.

    ``packument``: the document; ``spec``: a version or dist-tag (``spec``); ``tarball``:
    a file (``filename``, plus ``rev`` for the unpublish ``DELETE .../-rev/{rev}``);
    ``rev``: the package at a revision (``PUT``/``DELETE /{name}/-rev/{rev}``).
    """

    kind: Literal["packument", "spec", "tarball", "rev"]
    spec: str | None = None
    filename: str | None = None
    rev: str | None = None


def parse_target(rest: str) -> Target:
    """Classify the rest of a package path; raise 404 for shapes no client sends."""
    segments = rest.split("/")[1:] if rest else []
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash is harmless
    if not segments:
        return Target("packument")
    if len(segments) == 1 and segments[0] not in ("-", "-rev", ""):
        return Target("spec", spec=segments[0])
    if len(segments) == 2 and segments[0] == "-rev" and segments[1]:
        return Target("rev", rev=segments[1])
    if segments[0] == "-" and len(segments) in (2, 4) and segments[1].endswith(".tgz"):
        if len(segments) == 2:
            return Target("tarball", filename=segments[1])
        if segments[2] == "-rev" and segments[3]:
            return Target("tarball", filename=segments[1], rev=segments[3])
    raise NpmError("not found", 404)


def split_dist_tags_path(remainder: str) -> tuple[str, str | None]:
    """Split ``/{name}/dist-tags[/{tag}]`` (the part after ``/-/package``) into name and tag."""
    npm_path = split_path(remainder)
    segments = npm_path.rest.split("/")[1:]
    if segments and segments[0] == "dist-tags":
        if len(segments) == 1 or (len(segments) == 2 and segments[1] == ""):
            return npm_path.name, None
        if len(segments) == 2:
            return npm_path.name, segments[1]
    raise NpmError("not found", 404)
