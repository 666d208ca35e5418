"""/readyz and Redis: reported when configured, never a reason to leave the load balancer."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import falcon.testing
import pytest
import redis

from artifortress.testing.databases import service_missing
from artifortress.testing.helpers import Api

LIVE_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def dead_redis_url() -> str:
    """A port that accepts nothing: connections are refused, as with a stopped Redis."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_no_redis_configured_means_no_redis_check(client: falcon.testing.TestClient) -> None:
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 200
    assert "redis" not in ready.json["checks"]
    assert "degraded" not in ready.json


class TestLiveRedis:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, str]:
        try:
            redis.Redis.from_url(LIVE_REDIS, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            service_missing("Redis on 127.0.0.1:6379", exc)
        return {"redis_url": LIVE_REDIS}

    def test_a_reachable_redis_is_ok(self, client: falcon.testing.TestClient) -> None:
        ready = client.simulate_get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json["status"] == "ready"
        assert ready.json["checks"] == {"database": "ok", "blob_store": "ok", "redis": "ok"}


class TestDeadRedis:
    @pytest.fixture
    def settings_overrides(self, dead_redis_url: str) -> dict[str, str]:
        return {"redis_url": dead_redis_url}

    def test_is_reported_but_the_node_stays_ready(self, client: falcon.testing.TestClient) -> None:
        ready = client.simulate_get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json["status"] == "degraded"
        assert ready.json["degraded"] == ["redis"]
        assert "Connection" in ready.json["checks"]["redis"], ready.json
        assert ready.json["checks"]["database"] == "ok"
        assert "Retry-After" not in ready.headers

    def test_requests_keep_working(
        self, admin: Api, make_repo: Callable[..., dict[str, Any]]
    ) -> None:
        make_repo("py", format="pypi")
        for _ in range(2):  # the second read would come from a cache
            page = admin.get("/pypi/py/simple/")
            assert page.status_code == 200, page.text
        assert admin.get("/v1/repos/py").status_code == 200
