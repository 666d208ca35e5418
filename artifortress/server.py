"""Running the API under gunicorn, configured from :class:`Settings`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
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


def _json_logconfig() -> dict[str, Any]:
    """gunicorn's own log lines as JSON too, so the stream stays one object per line."""
    return {"formatters": {"generic": {"()": "artifortress.logs.JsonFormatter"}}}


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
            # gunicorn >= 25.1 opens a control socket at one per-user default path;
            # a second instance on the host would take it over, so none is opened.
            "control_socket_disable": True,
            **({"logconfig_dict": _json_logconfig()} if settings.log_format == "json" else {}),
            **(extra_options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # options of newer gunicorn releases are skipped
                self.cfg.set(key, value)

    def load(self) -> Any:
        from artifortress.app import get_app

        return get_app()


def prepare_metrics_dir() -> tuple[str, bool]:
    """An empty shared folder for every worker's metric samples (see ``http.metrics``).

    Returns the folder and whether it was created here (then the caller removes
    it on exit).  A folder named by ``PROMETHEUS_MULTIPROC_DIR`` is kept, and
    only the sample files of an earlier run are removed from it, so pointing the
    variable at a shared folder by mistake cannot wipe unrelated files.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if not given:
        path = tempfile.mkdtemp(prefix="artifortress-metrics-")
        os.environ[MULTIPROC_ENV] = path
        return path, True
    folder = Path(given)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)
    return given, False


def serve(settings: Settings, before_start: Callable[[], None] | None = None) -> None:
    """Run gunicorn until it is stopped; remove a metrics folder made for this run.

    *before_start* runs after the metrics folder is set up (so it may import
    anything) and before gunicorn binds.
    """
    path, created = prepare_metrics_dir()
    master = os.getpid()
    try:
        if before_start is not None:
            before_start()
        GunicornServer(settings).run()
    finally:
        # Forked workers leave through this frame too (gunicorn ends them with
        # sys.exit); only the master may remove the folder the others still use.
        if created and os.getpid() == master:
            shutil.rmtree(path, ignore_errors=True)
