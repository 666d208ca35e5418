"""Webhooks: signed deliveries from the worker, retried with backoff, logged; safe targets only."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from artifortress.webhooks.delivery import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER

from .helpers import FAST, drain, release

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers from a script of status codes."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?team=ops"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {**FAST, "event_max_attempts": "3"}


@pytest.fixture
def libs(admin, make_repo):
    make_repo("libs")
    return "libs"


def subscribe(admin, url: str, **extra: Any) -> Any:
    return admin.post("/v1/repos/libs/webhooks", {"url": url, **extra})


def test_publish_events_reach_the_receiver_signed_after_a_retry(admin, libs, receiver, services):
    hook = subscribe(admin, receiver.url, events=["version.published"], secret=SECRET)
    assert hook.status_code == 201, hook.text
    assert "secret" not in hook.json  # given by the caller: never echoed
    receiver.script = [500]  # the first attempt fails
    release(admin, "libs", "tool", "1.0")
    assert admin.patch("/v1/repos/libs", {"description": "x"}).status_code == 200  # not subscribed
    report = drain(services)
    assert report.deliveries == 2
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"][DELIVERY_HEADER] == second["headers"][DELIVERY_HEADER]
    assert second["path"] == "/hook?team=ops"
    headers, body = second["headers"], second["body"]
    assert headers[EVENT_HEADER] == "version.published"
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    document = json.loads(body)
    assert document["event"] == "version.published"
    assert document["repository"] == "libs"
    assert {"package": "tool", "version": "1.0"}.items() <= document["payload"].items()

    [log] = admin.get(f"/v1/repos/libs/webhooks/{hook.json['id']}/deliveries").json["deliveries"]
    assert (log["state"], log["attempts"], log["last_status"]) == ("delivered", 2, 200)
    assert log["delivery_id"] == headers[DELIVERY_HEADER]
    assert drain(services).deliveries == 0  # delivered once, not again


def test_a_receiver_that_keeps_failing_ends_in_failed(admin, libs, receiver, services):
    hook = subscribe(admin, receiver.url).json  # every event; a secret is generated
    assert len(hook["secret"]) >= 32
    assert "secret" not in admin.get(f"/v1/repos/libs/webhooks/{hook['id']}").json
    receiver.script = [503] * 10
    release(admin, "libs", "tool", "1.0")
    drain(services)
    [log] = admin.get(f"/v1/repos/libs/webhooks/{hook['id']}/deliveries").json["deliveries"]
    assert (log["state"], log["attempts"], log["last_status"]) == ("failed", 3, 503)
    assert "503" in log["last_error"]
    assert len(receiver.requests) == 3
    signature = receiver.requests[0]["headers"][SIGNATURE_HEADER]
    body = receiver.requests[0]["body"]
    assert signature == "sha256=" + hmac.new(hook["secret"].encode(), body, "sha256").hexdigest()


def test_subscriptions_are_listed_and_deleted_with_their_log(admin, libs, receiver, services):
    hook = subscribe(admin, receiver.url, events=["version.published"]).json
    release(admin, "libs", "tool", "1.0")
    drain(services)
    assert [h["id"] for h in admin.get("/v1/repos/libs/webhooks").json["webhooks"]] == [hook["id"]]
    assert admin.delete(f"/v1/repos/libs/webhooks/{hook['id']}").status_code == 200
    assert admin.get(f"/v1/repos/libs/webhooks/{hook['id']}").status_code == 404
    release(admin, "libs", "tool", "2.0")
    drain(services)
    assert len(receiver.requests) == 1
    actions = {e["action"] for e in admin.get("/v1/audit?repo=libs").json["entries"]}
    assert {"webhook.create", "webhook.delete"} <= actions


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://user:pw@example.com/hook",
        "http:///nohost",
        "http://example.com:99999/",
    ],
)
def test_only_http_urls_are_accepted(admin, libs, url):
    assert subscribe(admin, url).status_code == 400
    assert subscribe(admin, "https://hooks.example.com/x", events=["no.such"]).status_code == 400


def test_private_targets_are_refused_unless_allowed(admin, libs, receiver, services):
    object.__setattr__(services.settings, "webhook_allow_private", False)
    for url in (
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://localhost/x",
    ):
        answer = subscribe(admin, url)
        assert answer.status_code == 400, url
    # A host name that resolves to loopback passes creation (no DNS then) but never
    # gets a request: every address is checked again at delivery.
    object.__setattr__(services.settings, "webhook_allow_private", True)
    hook = subscribe(admin, receiver.url.replace("127.0.0.1", "ip6-localhost.invalid")).json
    local = subscribe(admin, receiver.url.replace("127.0.0.1", "localhost")).json
    object.__setattr__(services.settings, "webhook_allow_private", False)
    release(admin, "libs", "tool", "1.0")
    drain(services)
    assert receiver.requests == []
    for subscription in (hook, local):
        logs = admin.get(f"/v1/repos/libs/webhooks/{subscription['id']}/deliveries").json
        assert {d["state"] for d in logs["deliveries"]} == {"failed"}
    logs = admin.get(f"/v1/repos/libs/webhooks/{local['id']}/deliveries").json["deliveries"]
    assert "non-public" in logs[0]["last_error"]


@pytest.mark.parametrize(
    "host",
    [
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "127.1",
        "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits
        "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54",  # full-width "localhost"
        "\u217cocalhost",  # Roman numeral fifty for the "l"
        "[::ffff:7f00:1]",
        "[64:ff9b::a00:1]",  # NAT64 to 10.0.0.1
    ],
)
def test_hosts_that_a_resolver_reads_as_private_are_refused_at_creation(
    admin, libs, services, host
):
    object.__setattr__(services.settings, "webhook_allow_private", False)
    answer = subscribe(admin, f"http://{host}:8080/hook")
    assert answer.status_code == 400, answer.text
    assert "may not target" in answer.json["error"]["message"]
    assert admin.get("/v1/repos/libs/webhooks").json["webhooks"] == []


@pytest.mark.parametrize("url", ["http://[::1/hook", "http://a\uff03b/hook", "http://foo.123/"])
def test_malformed_webhook_urls_are_a_400(admin, libs, url):
    answer = subscribe(admin, url)
    assert answer.status_code == 400, answer.text


def test_an_event_nobody_subscribed_to_takes_no_write_lock(admin, libs, receiver, services):
    """The embedded worker runs beside the API: on SQLite its writes queue with uploads."""
    from artifortress.db.base import utcnow
    from artifortress.outbox.events import Event
    from artifortress.webhooks.dispatcher import WebhookDispatcher

    from .test_idle_worker import writes_to

    dispatcher = WebhookDispatcher(services)
    tenant = services.default_tenant_id()

    def event(n: int) -> Event:
        return Event(n, "version.published", tenant, "libs", {}, utcnow(), 1)

    with writes_to(services) as writes:
        dispatcher.artifortress_on_event(event(1))
    assert writes == []
    assert subscribe(admin, receiver.url, events=["version.published"]).status_code == 201
    with writes_to(services) as writes:
        dispatcher.artifortress_on_event(event(2))
    assert any(statement.startswith("INSERT") for statement in writes), writes
