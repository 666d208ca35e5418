"""Internal plugin: turns events into webhook deliveries (sent by the worker afterwards)."""

from __future__ import annotations

from artifortress import hookimpl
from artifortress.container import Services
from artifortress.db.engine import read_session
from artifortress.outbox.events import Event
from artifortress.webhooks.services import enqueue, may_enqueue


class WebhookDispatcher:
    def __init__(self, services: Services) -> None:
        self._sessions = services.sessions

    @hookimpl
    def artifortress_on_event(self, event: Event) -> None:
        with read_session(self._sessions) as db:
            if not may_enqueue(db, event):
                return
        with self._sessions.begin() as db:
            enqueue(db, event)
