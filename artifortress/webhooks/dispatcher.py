"""Internal plugin: turns events into webhook deliveries (sent by the worker afterwards)."""

from __future__ import annotations

from artifortress import hookimpl
from artifortress.container import Services
from artifortress.outbox.events import Event
from artifortress.webhooks.services import enqueue


class WebhookDispatcher:
    def __init__(self, services: Services) -> None:
        self._sessions = services.sessions

    @hookimpl
    def artifortress_on_event(self, event: Event) -> None:
        if event.repo is None:
            return
        with self._sessions.begin() as db:
            enqueue(db, event)
