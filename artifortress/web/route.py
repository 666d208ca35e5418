"""A route of the core's table: what the app mounts and the OpenAPI document describes."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Route:
    path: str
    resource: Any
    #: Group in the OpenAPI document.
    tag: str
