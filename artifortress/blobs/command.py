"""``artifortress blobs reap``: expire overdue upload sessions and sweep store leftovers."""

from __future__ import annotations

import datetime as dt

from artifortress.blobs.reaper import ReapReport, reap
from artifortress.services import Services
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
