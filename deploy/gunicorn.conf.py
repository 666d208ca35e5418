"""gunicorn settings for Artifortress in production.

Used by ``artifortress serve`` when ``ARTIFORTRESS_GUNICORN_CONF`` names this
file: every value set here wins over the built-in defaults of
``artifortress/server.py``.  The file deliberately leaves ``bind`` and
``loglevel`` to ``ARTIFORTRESS_BIND`` and ``ARTIFORTRESS_LOG_LEVEL``, and
takes the worker and thread counts from ``ARTIFORTRESS_WORKERS`` and
``ARTIFORTRESS_THREADS`` when they are set, so the environment stays the one
place an operator changes things.  Plain gunicorn also reads it
(``gunicorn -c deploy/gunicorn.conf.py 'artifortress.app:get_app()'``), but
``artifortress serve`` is the supported way: it also prepares the shared
metrics folder and checks the schema before binding.

Variables read here that are not Artifortress settings:

- ``FORWARDED_ALLOW_IPS``: addresses of the front proxies whose
  ``X-Forwarded-Proto`` is believed (gunicorn's own variable).
- ``GUNICORN_ACCESS_LOG``: ``-`` (stdout) or a file for gunicorn's access
  log.  Off by default: the application already logs one line per request
  with its request id (``artifortress.access``, JSON with
  ``ARTIFORTRESS_LOG_FORMAT=json``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def _cpus() -> int:
    """CPUs this process may really use: the cgroup quota (containers), else the affinity mask."""
    available = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    except (OSError, ValueError):
        return available
    if quota == "max":
        return available
    return max(1, min(available, math.ceil(int(quota) / int(period))))


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip().isdigit() and int(raw) > 0 else default


# -- workers -------------------------------------------------------------------------------
# Threads, not processes, absorb waiting: a request mostly waits on PostgreSQL, S3
# or the client's socket, and the GIL is released meanwhile.  Processes add
# CPU for hashing and rendering, so one per CPU; each costs ~70 MiB plus its
# rendering cache (ARTIFORTRESS_RENDERING_CACHE_SIZE).  Keep
# workers x threads below the database pool budget (see deploy/RUNBOOK.md).
# gunicorn's gthread worker, with the wait for slow clients (request headers, small
# bodies, the rest of a file download) in its event loop instead of a thread, and a
# cap on the threads that stream large bodies (see deploy/RUNBOOK.md, "Slow clients").
worker_class = "artifortress.serving.worker.GuardedThreadWorker"
workers = _positive("ARTIFORTRESS_WORKERS", max(2, _cpus()))
threads = _positive("ARTIFORTRESS_THREADS", 8)
# Idle keep-alive connections wait in the worker's poller, not in a thread.
worker_connections = 1000

# -- timeouts ------------------------------------------------------------------------------
# With gthread, `timeout` is the heartbeat of the worker's main loop, not a
# request deadline: a 10 GiB upload on a slow link keeps its thread as long as
# bytes flow.  A worker whose loop is stuck this long is killed and replaced.
timeout = 60
# SIGTERM (docker stop, rolling deploys) and SIGHUP: stop accepting, let
# in-flight requests finish for this long.  The orchestrator's grace period
# must be longer (docker-compose.yml: stop_grace_period 75s).
graceful_timeout = 60
# Longer than the proxy's upstream idle timeout (nginx keepalive_timeout 60s,
# AWS ALB 60s): the proxy, not gunicorn, closes idle connections, so it never
# sends a request on a connection gunicorn is closing (a 502).
keepalive = 75

# -- graceful recycling --------------------------------------------------------------------
# Replace each worker after about this many requests, staggered by the jitter
# so that workers never all restart at once; bounds slow memory growth
# (allocator fragmentation after large uploads).  In-process caches are only
# caches: a fresh worker refills them from PostgreSQL and Redis.
max_requests = 20_000
max_requests_jitter = 2_000

# The app is built after the fork in every worker: database pools and boto3
# clients must not be shared between processes.
preload_app = False
# Heartbeat files on tmpfs: on a container's overlay file system, a slow disk
# can stall the heartbeat and get healthy workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# -- front proxy ---------------------------------------------------------------------------
# Only these peers may say the original request was HTTPS (then absolute URLs
# in pages and packuments are https://).  Set it to the proxy's address or
# network; "*" only when nothing but the proxy can reach this port.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Only the header the proxy examples in RUNBOOK.md overwrite; gunicorn's
# defaults also believe X-Forwarded-Ssl and X-Forwarded-Protocol, which a
# proxy passes through from the client unless told to drop them.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
# Headers with underscores are dropped (gunicorn's default, kept explicit):
# X-Forwarded_For must not shadow X-Forwarded-For.
header_map = "drop"
# Long generic paths and scoped npm names; gunicorn's ceiling for a request line.
limit_request_line = 8190

# -- logging -------------------------------------------------------------------------------
# The request id is the X-Request-Id the app answers with (the proxy's, when it
# sent one), so proxy, gunicorn and application lines join on it.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = (
    '%(h)s "%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(B)s %(M)sms '
    'rid=%({x-request-id}o)s "%(a)s"'
)
errorlog = "-"
proc_name = "artifortress"
# gunicorn >= 25.1 opens a control socket at one per-user path; a second
# instance on the host would take it over.  Artifortress needs none.
control_socket_disable = True
