"""Client text never reaches a header, a reason phrase or a log line unescaped (real server).

A path carrying ``%0d%0a`` once built a redirect ``Location`` that gunicorn
refused (a 500) and wrote its raw newline into the access log: one request,
two log lines, the second one the client's.  Checked over HTTP against
``artifortress serve``, in both log formats, since gunicorn is what refuses a
header and the log formatter is what writes the line.
"""

from __future__ import annotations

import http
import http.client
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

FORGED = "/pypi/py/simple/a%0d%0aSet-Cookie:%20x=1/"


@pytest.fixture(scope="module", params=["text", "json"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp(f"serve-{request.param}") / "home"
    environ = {"ARTIFORTRESS_WORKERS": "1", "ARTIFORTRESS_LOG_FORMAT": request.param}
    with ServerProcess(home, environ) as running:
        token = running.cli("admin", "create-token", "--user", "admin", "--admin").stdout
        created = raw_request(
            running,
            "POST",
            "/v1/repos",
            {"Authorization": f"Bearer {token.strip().splitlines()[-1]}"},
            body=json.dumps({"key": "py", "format": "pypi", "public": True}).encode(),
        )
        assert created.status == 201, created.read()
        yield running


def raw_request(
    server: ServerProcess,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> http.client.HTTPResponse:
    """*path* sent exactly as written (``requests`` would normalize it)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    return answer


def log_lines_of(server: ServerProcess, request_id: str) -> list[str]:
    """The server's stderr lines naming *request_id*, once its access line is written."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "access" not in _naming(server, request_id):
        time.sleep(0.05)  # access lines leave the worker in batches
    return _naming(server, request_id).splitlines()


def _naming(server: ServerProcess, request_id: str) -> str:
    return "\n".join(line for line in server.stderr.splitlines() if request_id in line)


def test_a_crlf_in_a_path_gets_a_4xx_and_writes_one_escaped_access_line(
    server: ServerProcess,
) -> None:
    request_id = uuid.uuid4().hex
    answer = raw_request(server, "GET", FORGED, {"X-Request-Id": request_id})

    assert 400 <= answer.status < 500, answer.status
    assert answer.reason == "Not Found"
    assert answer.getheader("Set-Cookie") is None
    lines = log_lines_of(server, request_id)
    assert len(lines) == 1, lines
    assert "Set-Cookie" in lines[0]  # the text is there, escaped, on the request's line
    assert not any(line.startswith("Set-Cookie") for line in server.stderr.splitlines())
    assert "\\r\\n" in lines[0]


def test_other_spellings_of_a_name_still_redirect_to_an_encoded_location(
    server: ServerProcess,
) -> None:
    answer = raw_request(server, "GET", "/pypi/py/simple/Foo.Bar")
    assert answer.status == 301
    assert answer.getheader("Location", "").endswith("/pypi/py/simple/foo-bar/")


@pytest.mark.parametrize(
    "path",
    [
        "/pypi/py/simple/%3Cscript%3Ealert(1)%3C%2Fscript%3E/",
        "/pypi/py/files/%3Cscript%3E/1.0/x.whl",
        "/pypi/py/pypi/%3Cscript%3E/json",
        "/nowhere/%3Cscript%3E",
        "/v1/repos/%3Cscript%3E",
        "/npm/py/%3Cscript%3E",
        "/generic/py/%3Cscript%3E/1/a",
    ],
)
def test_reason_phrases_echo_nothing_of_the_request(server: ServerProcess, path: str) -> None:
    answer = raw_request(server, "GET", path + "%E2%80%AE%0a")
    assert 400 <= answer.status < 500
    assert answer.reason == http.HTTPStatus(answer.status).phrase


def test_bidi_and_control_characters_are_escaped_in_the_log(server: ServerProcess) -> None:
    request_id = uuid.uuid4().hex
    raw_request(server, "GET", "/nowhere/a%E2%80%AEb%0bc%E2%80%A8d", {"X-Request-Id": request_id})
    (line,) = log_lines_of(server, request_id)
    assert line.isprintable(), line
    if server.environ["ARTIFORTRESS_LOG_FORMAT"] == "json":
        assert json.loads(line)["path"] == "/nowhere/a\u202eb\x0bc\u2028d"
    else:
        assert "GET /nowhere/a\\u202eb\\x0bc\\u2028d 404" in line


def test_a_token_in_a_url_never_reaches_the_log(server: ServerProcess) -> None:
    """``npm logout`` sends its token in the path: the log keeps the key id, not the secret."""
    token = server.cli("admin", "create-token", "--user", "admin", "--admin").stdout
    token = token.strip().splitlines()[-1]
    key_id, secret = token.removeprefix("afpat_").split("_")
    request_id = uuid.uuid4().hex
    path = f"/npm/py/-/user/token/{token}?again={token}"
    raw_request(server, "DELETE", path, {"X-Request-Id": request_id})
    (line,) = log_lines_of(server, request_id)
    assert secret not in server.stderr + server.stdout
    assert f"afpat_{key_id}_[redacted]" in line
