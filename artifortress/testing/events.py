"""Run the outbox worker in the test's process: what ``artifortress worker`` does after commit.

A request only records its events; search indexing, webhooks and every
``artifortress_on_event`` handler run in the worker.  ``drain_events`` runs
worker rounds until none finds work, so a test sees their effects without a
worker process and without waiting for retries.
"""

from __future__ import annotations

from artifortress.container import Services
from artifortress.outbox.worker import Worker, WorkerReport


def drain_events(services: Services) -> WorkerReport:
    """Handle every event due now (in this process) and return what the worker did.

    A handler that raises leaves its event to be retried later (counted in
    ``WorkerReport.retried``; it is not waited for), so a test can assert
    ``drain_events(services).retried == 0``.
    """
    worker = Worker(services, worker_id="test-drain")
    while worker.step():
        pass
    return worker.report
