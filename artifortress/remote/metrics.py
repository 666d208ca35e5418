"""``/metrics`` counters of remote repositories, labelled by repository key.

Plain ``prometheus_client`` counters: under gunicorn every worker writes them
to the shared multi-process files and ``/metrics`` sums them, as it does the
HTTP request counters.
"""

from __future__ import annotations

from prometheus_client import Counter

UPSTREAM_REQUESTS = Counter(
    "artifortress_upstream_requests_total",
    "Requests to upstreams, by remote repository, what was fetched (document or file) and "
    "outcome (ok, not_modified, not_found, error).",
    ["repository", "kind", "outcome"],
)
CACHE_HITS = Counter(
    "artifortress_upstream_cache_hits_total",
    "Remote lookups answered from the cache without asking upstream, by repository and kind.",
    ["repository", "kind"],
)
CACHE_MISSES = Counter(
    "artifortress_upstream_cache_misses_total",
    "Remote lookups that needed upstream (absent or expired), by repository and kind.",
    ["repository", "kind"],
)
UPSTREAM_BYTES = Counter(
    "artifortress_upstream_bytes_total",
    "Bytes received from upstreams (bodies, decoded), by remote repository.",
    ["repository"],
)
UPSTREAM_ERRORS = Counter(
    "artifortress_upstream_errors_total",
    "Failed upstream fetches, by remote repository and reason "
    "(unavailable, mismatch; stale: a cached copy was served instead).",
    ["repository", "reason"],
)

DOCUMENT = "document"
FILE = "file"


def hit(repository: str, kind: str) -> None:
    CACHE_HITS.labels(repository, kind).inc()


def miss(repository: str, kind: str) -> None:
    CACHE_MISSES.labels(repository, kind).inc()


def fetched(repository: str, kind: str, outcome: str, size: int = 0) -> None:
    UPSTREAM_REQUESTS.labels(repository, kind, outcome).inc()
    if size:
        UPSTREAM_BYTES.labels(repository).inc(size)


def failed(repository: str, kind: str, reason: str, size: int = 0) -> None:
    """A failed fetch; *size*: the bytes received all the same (a mismatched file's)."""
    UPSTREAM_REQUESTS.labels(repository, kind, "error").inc()
    UPSTREAM_ERRORS.labels(repository, reason).inc()
    if size:
        UPSTREAM_BYTES.labels(repository).inc(size)


def served_stale(repository: str) -> None:
    UPSTREAM_ERRORS.labels(repository, "stale").inc()
