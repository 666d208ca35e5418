"""``artifortress blobs reap`` and ``artifortress scrub``: blob store maintenance passes."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator

from tqdm import tqdm

from artifortress import changes
from artifortress.auth.principal import Caller, Principal
from artifortress.blobs.reaper import ReapReport, reap
from artifortress.blobs.scrub import ScrubReport, scrub
from artifortress.blobs.store import StoredObject
from artifortress.container import Services
from artifortress.settings import Settings


def run_reap(settings: Settings, *, client_addr: str) -> ReapReport:
    """One reaping pass over the configured database and blob store."""
    services = Services.build(settings, entry_points=False)
    try:
        return reap(
            services.sessions,
            services.blobs,
            grace=dt.timedelta(seconds=settings.upload_session_ttl),
            client_addr=client_addr,
        )
    finally:
        services.close()


def summary(report: ReapReport) -> str:
    return (
        f"{report.expired} expired upload sessions reaped, {report.forgotten} finished ones "
        f"forgotten, {report.swept} leftovers swept from the blob store"
    )


#: Digests listed in a scrub's audit entry at most (a row stays small after a disaster).
_AUDITED_DIGESTS = 100


def run_scrub(
    settings: Settings, *, dry_run: bool, remove_orphans: bool, client_addr: str
) -> ScrubReport:
    """One scrub pass over the configured store, with a progress bar; audited as the operator."""
    services = Services.build(settings, entry_points=False)
    try:
        return scrub_and_audit(
            services,
            dry_run=dry_run,
            remove_orphans=remove_orphans,
            client_addr=client_addr,
            show_progress=True,
        )
    finally:
        services.close()


def scrub_and_audit(
    services: Services,
    *,
    dry_run: bool,
    remove_orphans: bool,
    client_addr: str,
    show_progress: bool = False,
) -> ScrubReport:
    """Scrub, then record an audit entry with the counts (the worker's job calls this too)."""
    report = scrub(
        services.sessions,
        services.blobs,
        grace_seconds=services.settings.gc_grace,
        dry_run=dry_run,
        remove_orphans=remove_orphans,
        progress=_progress_bar if show_progress else lambda objects: objects,
    )
    with services.sessions.begin() as db:
        caller = Caller(Principal.operator(services.default_tenant_id()), client_addr=client_addr)
        changes.of(db).audit(
            caller,
            "blob.scrub",
            dry_run=dry_run,
            healthy=report.healthy,
            checked=report.checked,
            # The first digests name the problem; the JSON report lists them all.
            corrupt=[bad.digest for bad in report.corrupt][:_AUDITED_DIGESTS],
            missing=report.missing[:_AUDITED_DIGESTS],
            corrupt_count=len(report.corrupt),
            missing_count=len(report.missing),
            orphans=len(report.orphans),
            orphans_removed=sum(orphan.removed for orphan in report.orphans),
        )
    return report


def _progress_bar(objects: list[StoredObject]) -> Iterator[StoredObject]:
    """Progress in bytes: one large blob takes as long as thousands of small ones."""
    with tqdm(
        total=sum(obj.size for obj in objects),
        desc="re-hashing blobs",
        unit="B",
        unit_scale=True,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
    ) as bar:
        for obj in objects:
            yield obj
            bar.update(obj.size)
