"""Hook implementations of the pypi format."""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, hookimpl

FORMAT = FormatSpec(
    name="pypi", description="Python packages: PEP 503/691 simple index and twine uploads"
)


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [FORMAT]
