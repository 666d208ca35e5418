"""Disabling a user over real HTTP: every gunicorn worker refuses their tokens within 1 s."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

TIMEOUT = 10
#: The token cache's bound (ARTIFORTRESS_TOKEN_CACHE_SECONDS defaults to 1 s), plus
#: the time one request may take on a loaded machine.
BOUND = 1.0
SLACK = 0.25


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("users") / "home"
    with ServerProcess(home, {"ARTIFORTRESS_WORKERS": "2", "ARTIFORTRESS_THREADS": "2"}) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> dict[str, str]:
    token = server.cli("admin", "create-token", "--user", "admin", "--admin").stdout.split()[-1]
    return {"Authorization": f"Bearer {token}"}


def _token_of(server: ServerProcess, admin: dict[str, str], user: str) -> str:
    created = requests.post(
        f"{server.base_url}/v1/users", json={"name": user}, headers=admin, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    issued = requests.post(
        f"{server.base_url}/v1/tokens",
        json={"name": "ci", "user": user},
        headers=admin,
        timeout=TIMEOUT,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["token"])


def _whoami(server: ServerProcess, token: str) -> int:
    # A new connection per request, so both workers answer in turn.
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    return requests.get(
        f"{server.base_url}/v1/whoami", headers=headers, timeout=TIMEOUT
    ).status_code


def _statuses_after(server: ServerProcess, token: str, since: float, seconds: float) -> list[int]:
    """Statuses of requests started at least *seconds* after *since* (polls until then too)."""
    late: list[int] = []
    while len(late) < 20:
        started = time.monotonic()
        status = _whoami(server, token)
        if started - since >= seconds:
            late.append(status)
        time.sleep(0.02)
    return late


def _warm(server: ServerProcess, token: str) -> None:
    """Let every worker cache the token's lookup, so the bound is what is tested."""
    assert [_whoami(server, token) for _ in range(10)] == [200] * 10


def test_disable_stops_the_token_on_every_worker_and_enable_restores_it(
    server: ServerProcess, admin: dict[str, str]
) -> None:
    token = _token_of(server, admin, "bob")
    _warm(server, token)
    url = f"{server.base_url}/v1/users/bob"
    disabled = requests.patch(url, json={"disabled": True}, headers=admin, timeout=TIMEOUT)
    assert disabled.status_code == 200, disabled.text
    assert _statuses_after(server, token, time.monotonic(), BOUND + SLACK) == [401] * 20
    enabled = requests.patch(url, json={"disabled": False}, headers=admin, timeout=TIMEOUT)
    assert enabled.status_code == 200, enabled.text
    assert _statuses_after(server, token, time.monotonic(), BOUND + SLACK) == [200] * 20


def test_disabling_through_the_cli_reaches_the_server(
    server: ServerProcess, admin: dict[str, str]
) -> None:
    token = _token_of(server, admin, "carol")
    _warm(server, token)
    assert "disabled carol" in server.cli("admin", "disable-user", "carol").stdout
    assert _statuses_after(server, token, time.monotonic(), BOUND + SLACK) == [401] * 20


def test_a_deleted_users_token_stops_and_the_name_stays_taken(
    server: ServerProcess, admin: dict[str, str]
) -> None:
    token = _token_of(server, admin, "dave")
    _warm(server, token)
    deleted = requests.delete(f"{server.base_url}/v1/users/dave", headers=admin, timeout=TIMEOUT)
    assert deleted.status_code == 200, deleted.text
    assert _statuses_after(server, token, time.monotonic(), BOUND + SLACK) == [401] * 20
    again = requests.post(
        f"{server.base_url}/v1/users", json={"name": "dave"}, headers=admin, timeout=TIMEOUT
    )
    assert again.status_code == 409
    audit = requests.get(
        f"{server.base_url}/v1/audit",
        params={"action": "user.delete"},
        headers=admin,
        timeout=TIMEOUT,
    )
    assert [e["target"] for e in audit.json()["entries"]] == ["dave"]
