"""``artifortress reindex``: rebuild the search projection from the truth tables."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from tqdm import tqdm

from artifortress.container import Services
from artifortress.search.indexer import rebuild
from artifortress.settings import Settings


def run(settings: Settings, *, recreate: bool = False) -> int:
    """Rebuild the index (recreating it when broken or asked to); returns packages indexed."""
    services = Services.build(settings)
    try:
        return rebuild(services, recreate=recreate, progress=_progress_bar)
    finally:
        services.close()


def _progress_bar(package_ids: Sequence[int]) -> Iterable[int]:
    return tqdm(
        package_ids,
        desc="indexing packages",
        unit="package",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
    )
