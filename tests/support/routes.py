"""What the live falcon router really dispatches, for tests that must cover every operation.

:func:`served_operations` walks the compiled router of an app (not the route
table it was built from), so routes added by plugins or by hand are found too;
:func:`example_path` turns a URL template into a concrete URL for a test request.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import uuid
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from artifortress.http.permissions import requirement_of

#: A URL field as falcon writes it, with its optional converter: ``{repo}``, ``{n:int}``.
FIELD = re.compile(r"{(\w+)(?::(\w+)[^}]*)?}")

#: A value each falcon converter accepts, for fields that *values* does not name.
_PLACEHOLDERS = {
    "int": "1",
    "float": "1.0",
    "uuid": str(uuid.UUID(int=0)),
    "dt": "2000-01-01T00:00:00Z",
}


@dataclasses.dataclass(frozen=True)
class Operation:
    """One method of one URL template, as the router dispatches it."""

    method: str
    template: str
    responder: Callable[..., Any]
    resource: object

    @property
    def path(self) -> str:
        """The template in OpenAPI syntax: ``{n:int}`` becomes ``{n}``."""
        return FIELD.sub(r"{\1}", self.template)

    @property
    def requirement(self) -> str | None:
        """The permission the responder declared (``None``: it declared none)."""
        return requirement_of(self.responder)


def served_operations(app: Any, prefix: str = "") -> list[Operation]:
    """Every operation under *prefix*, without falcon's own OPTIONS and 405 responders."""
    found: list[Operation] = []

    def walk(nodes: list[Any], parent: str) -> None:
        for node in nodes:
            template = f"{parent}/{node.raw_segment}"
            if node.resource is not None and template.startswith(prefix):
                for method, responder in (node.method_map or {}).items():
                    if not _is_falcons(responder):
                        found.append(Operation(method, template, responder, node.resource))
            walk(node.children or [], template)

    walk(app._router._roots, "")
    return found


def example_path(template: str, values: Mapping[str, str] | None = None) -> str:
    """*template* with each field replaced by ``values[name]`` or a value its converter accepts."""
    values = values or {}

    def fill(match: re.Match[str]) -> str:
        name, converter = match.group(1), match.group(2)
        return values.get(name) or _PLACEHOLDERS.get(converter or "", f"no-such-{name}")

    return FIELD.sub(fill, template)


def _is_falcons(responder: Callable[..., Any]) -> bool:
    function = responder.func if isinstance(responder, partial) else responder
    module = inspect.getmodule(function)
    return module is not None and module.__name__.startswith("falcon.")
