"""``artifortress gc``: one online collection pass with a progress bar and a summary."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm

from artifortress import changes
from artifortress.auth.principal import Caller, Principal
from artifortress.container import Services
from artifortress.gc.services import GcReport, collect
from artifortress.settings import Settings


def run(settings: Settings, *, dry_run: bool, client_addr: str) -> GcReport:
    """Collect (or, with *dry_run*, count) unreferenced blobs; audited as the operator."""
    services = Services.build(settings)
    try:
        report = collect(
            services.sessions,
            services.blobs,
            grace_seconds=settings.gc_grace,
            retention_seconds=settings.tombstone_retention,
            dry_run=dry_run,
            progress=_progress_bar,
        )
        with services.sessions.begin() as db:
            caller = Caller(
                Principal.operator(services.default_tenant_id()), client_addr=client_addr
            )
            changes.of(db).audit(
                caller,
                "gc.run",
                dry_run=dry_run,
                collected=report.collected,
                bytes_reclaimed=report.bytes_reclaimed,
                skipped=report.skipped,
            )
        return report
    finally:
        services.close()


def _progress_bar(items: Iterable[str]) -> Iterable[str]:
    return tqdm(
        list(items),
        desc="collecting blobs",
        unit="blob",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
    )
