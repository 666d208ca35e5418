"""Hook implementations of the npm format."""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, hookimpl

FORMAT = FormatSpec(name="npm", description="npm registry for npm, pnpm and yarn")


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [FORMAT]
