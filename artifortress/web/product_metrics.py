"""``/metrics`` gauges of what the repository holds: repositories, packages, versions, blobs.

They are counted from the database at scrape time, so every process reports
the same exact values without any of them keeping state, and the counts are
kept for a short while (:data:`CACHE_SECONDS`): Prometheus scraping every 15
seconds then counts the whole database at most twice a minute per process.
A database that cannot answer drops the gauges from that scrape (the last
counts are not shown as if they were current).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Select, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from artifortress.blobs.models import Blob
from artifortress.http.metrics import exposition
from artifortress.repos.models import Repository
from artifortress.versions.models import PUBLISHED, Package, Version

log = logging.getLogger("artifortress.metrics")

#: How long one count is reported before the database is counted again.
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Inventory:
    """What the repository holds, at one moment."""

    repositories: dict[str, int]
    packages: dict[str, int]
    published_versions: dict[str, int]
    blobs: int
    blob_bytes: int


def count_inventory(db: Session) -> Inventory:
    """Five aggregate queries; the per-format ones group on an indexed or small table."""
    by_format = select(Repository.format, func.count()).group_by(Repository.format)
    packages = select(Package.format, func.count()).group_by(Package.format)
    published = (
        select(Package.format, func.count())
        .join(Version, Version.package_id == Package.id)
        .where(Version.state == PUBLISHED)
        .group_by(Package.format)
    )
    # A collected blob's row stays for old references; its bytes are gone.
    stored = select(func.count(), func.coalesce(func.sum(Blob.size), 0)).where(
        Blob.collected_at.is_(None)
    )
    row = db.execute(stored).one()
    return Inventory(
        repositories=_counts(db, by_format),
        packages=_counts(db, packages),
        published_versions=_counts(db, published),
        blobs=int(row[0]),
        blob_bytes=int(row[1]),
    )


def _counts(db: Session, query: Select[str, int]) -> dict[str, int]:
    return {str(name): int(count) for name, count in db.execute(query)}


class InventoryGauges:
    """A renderer of the inventory gauges, counting at most once per *ttl* seconds."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._counted: tuple[float, Inventory] | None = None

    def __call__(self) -> bytes:
        inventory = self.current()
        return b"" if inventory is None else exposition(families(inventory))

    def current(self) -> Inventory | None:
        """The cached counts, or new ones once they are older than the ttl."""
        # One thread counts; the others of this process wait and share its result.
        with self._lock:
            now = self._clock()
            if self._counted is None or now - self._counted[0] >= self._ttl:
                try:
                    with self._sessions() as db:
                        self._counted = (now, count_inventory(db))
                except SQLAlchemyError as exc:
                    log.warning("inventory gauges unavailable: %s", str(exc).splitlines()[0])
                    self._counted = None
                    return None
            return self._counted[1]


def families(inventory: Inventory) -> Iterable[GaugeMetricFamily]:
    for name, doc, counts in (
        ("artifortress_repositories", "Repositories, by format.", inventory.repositories),
        ("artifortress_packages", "Packages, by format.", inventory.packages),
        (
            "artifortress_published_versions",
            "Published versions (yanked ones included), by format.",
            inventory.published_versions,
        ),
    ):
        family = GaugeMetricFamily(name, doc, labels=["format"])
        for format_name, count in sorted(counts.items()):
            family.add_metric([format_name], float(count))
        yield family
    yield GaugeMetricFamily(
        "artifortress_stored_blobs", "Distinct blobs whose bytes are stored.", inventory.blobs
    )
    yield GaugeMetricFamily(
        "artifortress_stored_bytes",
        "Bytes of the distinct stored blobs (deduplicated).",
        inventory.blob_bytes,
    )
