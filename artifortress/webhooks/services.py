"""Subscriptions (repository admins) and the delivery queue (the worker)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller
from artifortress.db.base import iso, utcnow
from artifortress.db.dialects import insert_for, is_postgres
from artifortress.errors import NotFound, ValidationFailed
from artifortress.outbox.events import EVENT_TYPES, Event
from artifortress.repos.models import Repository
from artifortress.webhooks.models import (
    DELIVERED,
    FAILED,
    PENDING,
    WebhookDelivery,
    WebhookSubscription,
)
from artifortress.webhooks.targets import check_url

ALL_EVENTS = "*"
MAX_ERROR = 2000


# -- subscriptions ---------------------------------------------------------------------


def create_subscription(
    db: Session,
    caller: Caller,
    repo: Repository,
    *,
    url: str,
    events: Sequence[str],
    secret: str | None,
    allow_private: bool,
) -> tuple[WebhookSubscription, str | None]:
    """Subscribe *url* to *events* of *repo*; returns it and the generated secret, if any."""
    check_url(url, allow_private=allow_private)
    unknown = sorted(set(events) - {*EVENT_TYPES, ALL_EVENTS})
    if unknown:
        raise ValidationFailed(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
    generated = None if secret else secrets.token_urlsafe(32)
    subscription = WebhookSubscription(
        repository_id=repo.id,
        url=url,
        events=sorted(set(events)) or [ALL_EVENTS],
        secret=secret or generated,
        active=True,
        created_by=caller.principal.name,
    )
    db.add(subscription)
    db.flush()
    changes.of(db).audit(
        caller,
        "webhook.create",
        repo_key=repo.key,
        target=str(subscription.id),
        url=url,
        events=subscription.events,
    )
    return subscription, generated


def list_subscriptions(db: Session, repo: Repository) -> Sequence[WebhookSubscription]:
    return db.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.repository_id == repo.id)
        .order_by(WebhookSubscription.id)
    ).all()


def get_subscription(db: Session, repo: Repository, hook_id: int) -> WebhookSubscription:
    found = db.get(WebhookSubscription, hook_id)
    if found is None or found.repository_id != repo.id:
        raise NotFound(f"no webhook {hook_id} in {repo.key}")
    return found


def delete_subscription(db: Session, caller: Caller, repo: Repository, hook_id: int) -> None:
    """Remove a subscription and its delivery log; audited."""
    found = get_subscription(db, repo, hook_id)
    db.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == found.id))
    db.delete(found)
    changes.of(db).audit(
        caller, "webhook.delete", repo_key=repo.key, target=str(hook_id), url=found.url
    )


def list_deliveries(
    db: Session, subscription: WebhookSubscription, *, before: int | None, limit: int
) -> Sequence[WebhookDelivery]:
    """The delivery log of one subscription, newest first."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    if before is not None:
        stmt = stmt.where(WebhookDelivery.id < before)
    return db.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)).all()


# -- the worker's side -------------------------------------------------------------------


def _subscriptions(event: Event) -> Select[WebhookSubscription]:
    """The active subscriptions of *event*'s repository that existed when it happened."""
    return (
        select(WebhookSubscription)
        .join(Repository, Repository.id == WebhookSubscription.repository_id)
        .where(
            Repository.tenant_id == event.tenant_id,
            Repository.key == event.repo,
            WebhookSubscription.active.is_(True),
            # A subscription hears of changes made after it, not of an older backlog.
            WebhookSubscription.created_at <= event.created_at,
        )
    )


def may_enqueue(db: Session, event: Event) -> bool:
    """Whether *event* has a subscription to hear it (most repositories have none).

    Asked in a read session first, so an event nobody subscribed to takes no
    write transaction (SQLite's write lock is the API's too); subscriptions
    made later never hear of it, so the answer cannot go stale.
    """
    if event.repo is None:
        return False
    return db.scalars(_subscriptions(event).limit(1)).first() is not None


def enqueue(db: Session, event: Event) -> int:
    """Create the deliveries *event* owes to matching subscriptions (idempotent)."""
    if event.repo is None:
        return 0
    subscriptions = db.scalars(_subscriptions(event)).all()
    body = json.dumps(
        {
            "event": event.type,
            "event_id": event.id,
            "created_at": event.created_at.isoformat(),
            "repository": event.repo,
            "payload": dict(event.payload),
        },
        sort_keys=True,
    )
    insert = insert_for(db)
    created = 0
    for subscription in subscriptions:
        if ALL_EVENTS not in subscription.events and event.type not in subscription.events:
            continue
        statement = insert(WebhookDelivery).values(
            delivery_id=str(uuid.uuid4()),
            subscription_id=subscription.id,
            event_id=event.id,
            event_type=event.type,
            body=body,
            state=PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        )
        result = db.execute(
            statement.on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
        )
        created += int(getattr(result, "rowcount", 0) or 0)
    return created


def any_due(db: Session) -> bool:
    """Whether some delivery is due: read in a read-only session before :func:`claim`."""
    due = select(WebhookDelivery.id).where(
        WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= utcnow()
    )
    return db.scalar(due.limit(1)) is not None


def claim(db: Session, worker_id: str, *, limit: int, hold: float) -> list[dict[str, Any]]:
    """Take up to *limit* due deliveries for *hold* seconds; short transaction, SKIP LOCKED."""
    now = utcnow()
    stmt = (
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    if is_postgres(db):
        stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
    claimed = []
    for delivery, subscription in db.execute(stmt).all():
        delivery.attempts += 1
        delivery.next_attempt_at = now + dt.timedelta(seconds=hold)
        delivery.claimed_by = worker_id
        claimed.append(
            {
                "id": delivery.id,
                "delivery_id": delivery.delivery_id,
                "event_type": delivery.event_type,
                "body": delivery.body,
                "attempts": delivery.attempts,
                "url": subscription.url,
                "secret": subscription.secret,
            }
        )
    return claimed


def record_attempt(
    db: Session,
    delivery_id: int,
    worker_id: str,
    *,
    status: int | None,
    error: str | None,
    retry_in: float,
    max_attempts: int,
) -> str:
    """Store one attempt's outcome; a 2xx is delivered, else retry later or give up."""
    delivery = db.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.claimed_by == worker_id
        )
    ).one_or_none()
    if delivery is None:
        return PENDING
    now = utcnow()
    delivery.claimed_by = None
    delivery.last_attempt_at = now
    delivery.last_status = status
    delivery.last_error = error[:MAX_ERROR] if error else None
    if status is not None and 200 <= status < 300:
        delivery.state = DELIVERED
        delivery.delivered_at = now
    elif delivery.attempts >= max_attempts:
        delivery.state = FAILED
    else:
        delivery.next_attempt_at = now + dt.timedelta(seconds=retry_in)
    return delivery.state


def pending_deliveries(db: Session) -> tuple[int, dt.datetime | None]:
    """How many deliveries are still to be made, and when the next one is due."""
    count, due = db.execute(
        select(func.count(WebhookDelivery.id), func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.state == PENDING
        )
    ).one()
    if isinstance(due, dt.datetime) and due.tzinfo is None:
        due = due.replace(tzinfo=dt.UTC)
    return int(count), due


def prune(db: Session, older_than: dt.datetime) -> int:
    result = db.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.state == DELIVERED, WebhookDelivery.delivered_at < older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def subscription_to_json(
    subscription: WebhookSubscription, secret: str | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": subscription.id,
        "url": subscription.url,
        "events": subscription.events,
        "active": subscription.active,
        "created_at": subscription.created_at.isoformat(),
        "created_by": subscription.created_by,
    }
    if secret is not None:
        doc["secret"] = secret  # generated: shown this once
    return doc


def delivery_to_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "delivery_id": delivery.delivery_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "last_attempt_at": iso(delivery.last_attempt_at),
        "next_attempt_at": iso(delivery.next_attempt_at) if delivery.state == PENDING else None,
        "delivered_at": iso(delivery.delivered_at),
        "created_at": iso(delivery.created_at),
    }
