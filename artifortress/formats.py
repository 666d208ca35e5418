"""What a format plugin declares about the format it provides."""

from __future__ import annotations

import dataclasses
import re

FORMAT_NAME = re.compile(r"^[a-z][a-z0-9]{1,31}$")


@dataclasses.dataclass(frozen=True)
class FormatSpec:
    """A package format, e.g. ``pypi``; its routes mount under ``/{name}/{repo}/``."""

    name: str
    description: str = ""

    def __post_init__(self) -> None:
        if not FORMAT_NAME.match(self.name):
            raise ValueError(f"format name {self.name!r} must match {FORMAT_NAME.pattern}")
