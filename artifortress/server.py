"""Running the API under gunicorn, configured from :class:`Settings`."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

from artifortress.settings import Settings

#: Must be set before prometheus_client is first imported (it picks its value
#: storage at import time), so this module does not import artifortress.http.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _child_exit(server: Any, worker: Any) -> None:
    # Merge a dead worker's live gauges away, as prometheus_client requires.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with our settings; each worker builds its own app and database pool."""

    def __init__(self, settings: Settings, extra_options: dict[str, Any] | None = None) -> None:
        self._settings = settings
        self._options = {
            "bind": settings.bind,
            "workers": settings.workers,
            "worker_class": "gthread",
            "threads": settings.threads,
            "timeout": 120,
            "graceful_timeout": 30,
            "keepalive": 5,
            "max_requests": 0,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": settings.log_level,
            "child_exit": _child_exit,
            "proc_name": "artifortress",
            **(extra_options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from artifortress.app import get_app

        return get_app()


def prepare_metrics_dir() -> str:
    """A fresh shared folder for every worker's metric samples (see ``http.metrics``)."""
    path = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="artifortress-metrics-")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ[MULTIPROC_ENV] = path
    return path


def serve(settings: Settings) -> None:
    prepare_metrics_dir()
    GunicornServer(settings).run()
