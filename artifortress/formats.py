"""What a format plugin declares about the format it provides."""

from __future__ import annotations

import dataclasses
import re

import pluggy

FORMAT_NAME = re.compile(r"^[a-z][a-z0-9]{1,31}$")


@dataclasses.dataclass(frozen=True)
class FormatSpec:
    """A package format, e.g. ``pypi``; its routes mount under ``/{name}/{repo}/``."""

    name: str
    description: str = ""

    def __post_init__(self) -> None:
        if not FORMAT_NAME.match(self.name):
            raise ValueError(f"format name {self.name!r} must match {FORMAT_NAME.pattern}")


def normalize_name(pm: pluggy.PluginManager, format: str, name: str) -> str:
    """The format's canonical spelling of a package name (unchanged if no plugin cares)."""
    normalized = pm.hook.artifortress_normalize_name(format=format, name=name)
    return name if normalized is None else str(normalized)
