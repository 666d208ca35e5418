"""``artifortress worker [--drain]``: consume the outbox until stopped (or drained)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from artifortress.container import Services
from artifortress.logs import configure as configure_logging
from artifortress.outbox.worker import Worker, WorkerReport
from artifortress.settings import Settings


def run(settings: Settings, *, drain: bool) -> WorkerReport:
    """Run one worker in this process; SIGTERM or SIGINT stop it after the current event."""
    configure_logging(settings.log_format, settings.log_level)
    services = Services.build(settings)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return Worker(services).run(drain=drain, stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        services.close()
