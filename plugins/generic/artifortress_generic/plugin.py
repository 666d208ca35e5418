"""Hook implementations of the generic format."""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, hookimpl

FORMAT = FormatSpec(name="generic", description="Any file, stored by path with curl")


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [FORMAT]
