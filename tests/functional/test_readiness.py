"""/healthz and /readyz: liveness never touches a backing service; readiness is not load."""

from __future__ import annotations

import time
from contextlib import ExitStack

import falcon.testing

from artifortress.container import Services


def test_health_and_readiness_when_all_is_well(client: falcon.testing.TestClient) -> None:
    assert client.simulate_get("/healthz").json == {"status": "ok"}
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "ready"
    assert ready.json["checks"]["database"] == "ok"


def test_a_busy_pool_does_not_make_the_server_unready(
    client: falcon.testing.TestClient, services: Services
) -> None:
    """Every pooled connection is in use (a loaded server): the probe must still pass, fast.

    Queued behind the requests, it waited for the pool timeout and answered 503,
    and a load balancer would drop the busiest servers first.
    """
    pool = services.engine.pool
    capacity = pool.size() + pool._max_overflow  # type: ignore[attr-defined]
    with ExitStack() as held:
        for _ in range(capacity):
            held.enter_context(services.engine.connect())
        started = time.monotonic()
        ready = client.simulate_get("/readyz")
        elapsed = time.monotonic() - started
    assert ready.status_code == 200, ready.text
    assert elapsed < 2, f"readiness took {elapsed:.1f}s"
