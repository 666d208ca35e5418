"""Running the API under gunicorn, configured from :class:`Settings`."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.config import Config

from artifortress.errors import ConfigurationError
from artifortress.serving.worker import ClientDeadlines
from artifortress.settings import PREFIX, Settings

#: Must be set before prometheus_client is first imported (it picks its value
#: storage at import time), so this module does not import artifortress.http.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: gthread, with slow clients kept off the threads (see artifortress.serving.worker).
WORKER_CLASS = "artifortress.serving.worker.GuardedThreadWorker"


def _child_exit(server: Any, worker: Any) -> None:
    # Merge a dead worker's live gauges away, as prometheus_client requires.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def read_gunicorn_conf(path: str) -> dict[str, Any]:
    """The gunicorn settings a configuration file (gunicorn's own format) defines.

    Names that are not gunicorn settings (imports, helpers) are left out, as
    gunicorn itself does.  A file that fails to run is a configuration error
    naming the variable, raised before anything binds.
    """
    spec = importlib.util.spec_from_file_location("artifortress_gunicorn_conf", path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"{PREFIX}GUNICORN_CONF={path!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # whatever the file raises, the operator must see it
        raise ConfigurationError(
            f"{PREFIX}GUNICORN_CONF={path!r} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    known = Config().settings
    return {name: value for name, value in vars(module).items() if name in known}


def _chained(first: Callable[..., Any], then: Callable[..., Any]) -> Callable[[Any, Any], None]:
    """A server hook calling ours, then the configuration file's."""

    def hook(server: Any, worker: Any) -> None:
        first(server, worker)
        then(server, worker)

    return hook


def _json_logconfig(level: str, access_log: bool) -> dict[str, Any]:
    """gunicorn's own log lines as JSON too, each once, so the stream stays one object per line.

    gunicorn's defaults also propagate its loggers to a root handler (every
    line twice), and with any ``logconfig_dict`` it writes access lines even
    when ``accesslog`` is off; the application logs every request itself
    (``artifortress.access``), so gunicorn's access lines only come when asked for.
    """

    def logger(name: str, handler: str, enabled: bool) -> dict[str, Any]:
        return {
            "level": level.upper() if enabled else "CRITICAL",
            "handlers": [handler],
            "propagate": False,
            "qualname": name,
        }

    return {
        "formatters": {"generic": {"()": "artifortress.logs.JsonFormatter"}},
        "loggers": {
            "gunicorn.error": logger("gunicorn.error", "error_console", True),
            "gunicorn.access": logger("gunicorn.access", "console", access_log),
        },
    }


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with our settings; each worker builds its own app and database pool.

    Precedence, lowest first: the defaults below (from the settings), then
    ``ARTIFORTRESS_GUNICORN_CONF`` (a gunicorn configuration file), then
    *extra_options*.
    """

    def __init__(
        self,
        settings: Settings,
        extra_options: dict[str, Any] | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_ready = on_ready or (lambda: None)
        #: Read by each worker (artifortress.serving.worker).
        self.client_deadlines = ClientDeadlines.of(settings)
        self._options = {
            "bind": settings.bind,
            "workers": settings.workers,
            "worker_class": WORKER_CLASS,
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
        }
        if settings.gunicorn_conf:
            self._options.update(self._file_options(settings.gunicorn_conf))
        self._options.update(extra_options or {})
        if settings.log_format == "json":
            access_log = bool(self._options.get("accesslog"))
            self._options.setdefault(
                "logconfig_dict", _json_logconfig(settings.log_level, access_log)
            )
        super().__init__()

    def _file_options(self, path: str) -> dict[str, Any]:
        """The file's values, which win over ours; its ``child_exit`` runs after ours."""
        options = read_gunicorn_conf(path)
        if "child_exit" in options:
            options["child_exit"] = _chained(_child_exit, options["child_exit"])
        return options

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # options of newer gunicorn releases are skipped
                self.cfg.set(key, value)

    def load(self) -> Any:
        from artifortress.app import get_app

        return get_app()

    def run(self) -> None:
        """gunicorn's master, with our bind and the embedded event worker (``serving.arbiter``)."""
        from artifortress.serving.arbiter import ArtifortressArbiter

        ArtifortressArbiter(self, self._settings, self._on_ready).run()


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


def serve(
    settings: Settings,
    before_start: Callable[[], None] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run gunicorn until it is stopped; remove a metrics folder made for this run.

    *before_start* runs after the metrics folder is set up (so it may import
    anything) and before gunicorn binds; *on_ready* runs in the master once the
    address is bound, before the first worker starts.
    """
    path, created = prepare_metrics_dir()
    master = os.getpid()
    try:
        if before_start is not None:
            before_start()
        GunicornServer(settings, on_ready=on_ready).run()
    finally:
        # Forked workers leave through this frame too (gunicorn ends them with
        # sys.exit); only the master may remove the folder the others still use.
        if created and os.getpid() == master:
            shutil.rmtree(path, ignore_errors=True)
