"""Sending webhook deliveries: signed POSTs to checked addresses, retried with backoff.

Each request carries ``X-Artifortress-Event``, ``X-Artifortress-Delivery``
(the same on every attempt, so a receiver can drop duplicates) and
``X-Artifortress-Signature-256: sha256=<hex HMAC-SHA256 of the body, keyed
with the subscription's secret>``.  Only a 2xx answer counts; redirects are
not followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from artifortress import __version__
from artifortress.container import Services
from artifortress.db.engine import read_session
from artifortress.outbox.services import backoff
from artifortress.webhooks import services as webhooks
from artifortress.webhooks.targets import TargetRefused, connection

log = logging.getLogger("artifortress.webhooks")

SIGNATURE_HEADER = "X-Artifortress-Signature-256"
DELIVERY_HEADER = "X-Artifortress-Delivery"
EVENT_HEADER = "X-Artifortress-Event"
#: Bytes of a receiver's answer read (and kept in the log on failure).
MAX_ANSWER = 1024


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of *body*."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    timeout: float,
) -> tuple[int | None, str | None]:
    """POST *body* to *url*; ``(status, error)`` where error explains a non-2xx or no answer."""
    try:
        parts = urlsplit(url)
        conn = connection(parts, allow_private=allow_private, timeout=timeout)
    except TargetRefused as exc:
        return None, str(exc)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        text = answer.read(MAX_ANSWER)
    except (OSError, ValueError) as exc:  # refused, reset, timeout, TLS, bad status line
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    if 200 <= answer.status < 300:
        return answer.status, None
    return answer.status, f"answered {answer.status}: {text.decode(errors='replace')[:200]}"


def deliver_due(services: Services, worker_id: str) -> int:
    """Attempt every due delivery (a batch); returns how many were attempted."""
    with read_session(services.sessions) as db:
        if not webhooks.any_due(db):  # an idle poll reads and takes no lock
            return 0
    settings = services.settings
    hold = settings.worker_lease + settings.webhook_timeout
    with services.sessions.begin() as db:
        batch = webhooks.claim(db, worker_id, limit=settings.worker_batch, hold=hold)
    for item in batch:
        body = item["body"].encode()
        status, error = send(
            item["url"],
            body,
            {
                "Content-Type": "application/json",
                "User-Agent": f"Artifortress-Webhooks/{__version__}",
                EVENT_HEADER: item["event_type"],
                DELIVERY_HEADER: item["delivery_id"],
                SIGNATURE_HEADER: signature(item["secret"], body),
            },
            allow_private=settings.webhook_allow_private,
            timeout=settings.webhook_timeout,
        )
        with services.sessions.begin() as db:
            state = webhooks.record_attempt(
                db,
                item["id"],
                worker_id,
                status=status,
                error=error,
                retry_in=backoff(
                    item["attempts"], settings.event_retry_delay, settings.event_retry_max_delay
                ),
                max_attempts=settings.event_max_attempts,
            )
        if error:
            log.warning(
                "webhook delivery %s to %s (attempt %d): %s; now %s",
                item["delivery_id"],
                urlsplit(item["url"]).hostname,
                item["attempts"],
                error,
                state,
            )
    return len(batch)


def pending_deliveries(db: Session) -> tuple[int, dt.datetime | None]:
    return webhooks.pending_deliveries(db)
