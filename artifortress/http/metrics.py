"""Prometheus metrics, correct across gunicorn worker processes.

Under gunicorn, ``artifortress serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at
a fresh folder before any worker starts; every worker then writes its samples
there and ``/metrics`` aggregates all of them.  Without the variable (tests,
single process) the default in-process registry is used.

The multi-process mode does not export the ``process_*`` metrics (a worker
can only describe itself, and the files hold no such samples), so under
gunicorn they are read at scrape time from ``/proc`` for the master and each
of its children, labelled with ``pid`` and ``role``.  Gauges computed at scrape
time are plain metric families rendered by :func:`exposition`: ``Gauge``
objects would be written to the shared files and reported again per process.
"""

from __future__ import annotations

import functools
import os
import platform
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from artifortress import __version__

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "artifortress_http_requests_total",
    "HTTP requests handled, by route template, method and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "artifortress_http_request_duration_seconds",
    "Time to produce a response (excluding streaming of large bodies), by route.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def render() -> tuple[bytes, str]:
    """The exposition text of every process's samples, and its content type."""
    build = exposition([build_info()])
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        processes = exposition(serving_process_families())
        return generate_latest(registry) + processes + build, CONTENT_TYPE_LATEST
    # The default registry has the process collector of this single process.
    return generate_latest() + build, CONTENT_TYPE_LATEST


def exposition(families: Iterable[Metric]) -> bytes:
    """The text exposition of metric families computed just now."""
    registry = CollectorRegistry()
    registry.register(_Snapshot(list(families)))
    return generate_latest(registry)


def build_info() -> GaugeMetricFamily:
    """``artifortress_build_info{version, python} 1``: which release answers."""
    family = GaugeMetricFamily(
        "artifortress_build_info",
        "Always 1; the labels name the running release and Python.",
        labels=["version", "python"],
    )
    family.add_metric([__version__, platform.python_version()], 1.0)
    return family


def serving_process_families(proc: str = "/proc") -> list[Metric]:
    """``process_*`` of the gunicorn master and of each of its children, by pid and role.

    Called in a worker, whose parent is the master.  Empty where ``/proc``
    does not exist, as prometheus_client's own process collector is.
    """
    merged: dict[str, Metric] = {}
    for pid, role in _serving_processes(proc):
        collector = ProcessCollector(pid=functools.partial(int, pid), proc=proc, registry=None)
        for family in collector.collect():
            into = merged.setdefault(
                family.name, Metric(family.name, family.documentation, family.type)
            )
            for sample in family.samples:
                labels = {**sample.labels, "pid": str(pid), "role": role}
                into.add_sample(sample.name, labels, sample.value)
    return list(merged.values())


def _serving_processes(proc: str) -> Iterator[tuple[int, str]]:
    """The master (``master``), its forked serving workers (``worker``), and any
    other child it started, such as the embedded event worker (``subprocess``)."""
    master = os.getppid()
    yield master, "master"
    forked = _cmdline(proc, master)
    for child in _children(proc, master):
        # A fork keeps its parent's command line; a started program has its own.
        yield child, "worker" if _cmdline(proc, child) == forked else "subprocess"


def _children(proc: str, pid: int) -> list[int]:
    """The child pids of *pid* (Linux keeps them per thread; the main thread forks)."""
    try:
        listed = Path(proc, str(pid), "task", str(pid), "children").read_text()
    except OSError:
        return []
    return sorted(int(child) for child in listed.split())


def _cmdline(proc: str, pid: int) -> bytes | None:
    try:
        return Path(proc, str(pid), "cmdline").read_bytes()
    except OSError:
        return None


class _Snapshot(Collector):
    """Metric families computed just now, collected once."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families
