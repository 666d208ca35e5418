"""A worker process for the tests: ``python worker_process.py MODE MARKER_DIR``.

Runs ``artifortress worker --drain``'s loop with one extra handler, configured
from the ``ARTIFORTRESS_*`` environment:

- ``record``: every event leaves a row in ``worker_effects`` (event id, pid),
  after a short pause so that several processes get a share; the process
  writes ``MARKER_DIR/ready-PID`` and starts once ``MARKER_DIR/go`` exists, so
  that all of them start together;
- ``hang``: the first event writes ``MARKER_DIR/started`` and then blocks,
  for the test to kill the process mid-handler.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from sqlalchemy import text

from artifortress import hookimpl
from artifortress.container import Services
from artifortress.outbox.events import Event
from artifortress.outbox.worker import Worker
from artifortress.settings import Settings


class Record:
    def __init__(self, services: Services) -> None:
        self.engine = services.engine

    @hookimpl
    def artifortress_on_event(self, event: Event) -> None:
        time.sleep(0.005)
        with self.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO worker_effects (event_id, pid) VALUES (:e, :p)"),
                {"e": event.id, "p": os.getpid()},
            )


class Hang:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    @hookimpl
    def artifortress_on_event(self, event: Event) -> None:
        self.marker.write_text(str(event.id))
        time.sleep(120)  # killed long before


def main(mode: str, marker_dir: str) -> int:
    settings = Settings.load()
    services = Services.build(settings, entry_points=False)
    plugin: object = Record(services) if mode == "record" else Hang(Path(marker_dir) / "started")
    services.plugins.register(plugin, name=f"test-{mode}")
    if mode == "record":
        (Path(marker_dir) / f"ready-{os.getpid()}").touch()
        deadline = time.monotonic() + 60
        while not (Path(marker_dir) / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    report = Worker(services).run(drain=True)
    print(report.summary(), flush=True)
    services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
