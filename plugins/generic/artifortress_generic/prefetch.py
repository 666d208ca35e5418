"""What ``artifortress remote prefetch`` fetches for a generic repository: a list of paths."""

from __future__ import annotations

from collections.abc import Iterator

from artifortress.plugin import Prefetch


def paths(text: str) -> Iterator[Prefetch]:
    """One file per line (``tool/1.2.0/tool.tgz``); blank lines and ``#`` comments are skipped."""
    for line in text.splitlines():
        path = line.strip().lstrip("/")
        if path and not path.startswith("#"):
            yield Prefetch(path)
