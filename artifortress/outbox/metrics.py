"""``/metrics`` gauges of the event plane, computed from the database at scrape time.

Counting at scrape time is exact on every process (no worker has to be up to
report a backlog, which is the point when no worker runs) and costs two
indexed aggregate queries per scrape.  A database that cannot answer drops
the gauges from that scrape instead of failing it.  The values are plain
metric families, not ``Gauge`` objects: under gunicorn those would write to
the multi-process files and be reported again, per process, forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from artifortress.db.base import utcnow
from artifortress.http.metrics import exposition
from artifortress.outbox.services import backlog
from artifortress.webhooks.services import pending_deliveries

if TYPE_CHECKING:
    from artifortress.container import Services

log = logging.getLogger("artifortress.metrics")


def outbox_gauges(services: Services) -> Callable[[], bytes]:
    """A renderer of the backlog gauges, added to ``/metrics`` at scrape time."""

    def render() -> bytes:
        try:
            with services.sessions() as db:
                queue = backlog(db)
                deliveries, _next = pending_deliveries(db)
        except SQLAlchemyError as exc:
            log.warning("event plane gauges unavailable: %s", str(exc).splitlines()[0])
            return b""
        age = (utcnow() - queue.oldest_pending_at).total_seconds() if queue.oldest_pending_at else 0
        families = [
            GaugeMetricFamily(name, doc, value=max(0.0, float(value)))
            for name, doc, value in (
                ("artifortress_outbox_backlog", "Outbox events not yet handled.", queue.pending),
                (
                    "artifortress_outbox_oldest_pending_age_seconds",
                    "Age of the oldest outbox event not yet handled (0 when none).",
                    age,
                ),
                ("artifortress_outbox_dead_events", "Dead-lettered outbox events.", queue.dead),
                (
                    "artifortress_webhook_deliveries_pending",
                    "Webhook deliveries still to be made.",
                    deliveries,
                ),
            )
        ]
        return exposition(families)

    return render
