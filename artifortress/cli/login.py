"""``artifortress login --oidc``: a personal access token through the browser, no secret pasted.

The gateway runs the device authorization grant's shape (RFC 8628,
:mod:`artifortress.identity.device`): this command asks it for a code, says which page to open,
and polls while the person signs in there (through their IdP) and approves the code.  The
token is printed on stdout, alone, so ``TOKEN=$(artifortress login --oidc --url URL)`` works;
``--save FILE`` also writes it to FILE, readable by its owner only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError

from artifortress.cli.common import Subparsers
from artifortress.settings import Settings


def register(sub: Subparsers) -> None:
    login = sub.add_parser(
        "login",
        help="get a personal access token by signing in through the browser",
        description="Ask a running gateway for a new personal access token: open the page "
        "it names, sign in (e.g. through your OpenID Connect provider) and approve the code "
        "shown here. The token is printed on stdout.",
    )
    login.add_argument("--oidc", action="store_true", required=True, help="sign in via the web UI")
    login.add_argument("--url", required=True, help="the gateway, e.g. https://artifacts.example")
    login.add_argument("--save", type=Path, help="also write the token to this file (mode 0600)")
    login.add_argument(
        "--timeout", type=float, default=600, help="seconds to wait for the approval (600)"
    )
    login.set_defaults(run=cmd_login)


def cmd_login(settings: Settings, args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=30), retries=False)
    status, started = _post(
        http, f"{base}/v1/oidc/device", {"client_name": socket.gethostname()[:60]}
    )
    if status != 200:
        return _fail(f"{base} did not start a sign-in (HTTP {status}): {started}")
    print(
        f"Open {started['verification_uri_complete']}\n"
        f"sign in, and approve the code {started['user_code']}. Waiting...",
        file=sys.stderr,
        flush=True,
    )
    answer = _wait(http, base, started, deadline=time.monotonic() + args.timeout)
    if "token" not in answer:
        return _fail(f"no token: {answer.get('error', answer)}")
    if args.save:
        _save(args.save, answer["token"])
    print(
        f"Signed in as {answer['user']}; the token expires {answer['expires_at']}.", file=sys.stderr
    )
    print(answer["token"])
    return 0


def _wait(
    http: urllib3.PoolManager, base: str, started: dict[str, Any], *, deadline: float
) -> dict[str, Any]:
    interval = float(started.get("interval", 5))
    body = {"device_code": started["device_code"]}
    while time.monotonic() < deadline:
        time.sleep(interval)
        status, answer = _post(http, f"{base}/v1/oidc/device/token", body)
        if status == 200:
            return answer
        error = answer.get("error")
        if error == "slow_down":
            interval += 5  # RFC 8628 3.5
        elif error != "authorization_pending":
            return answer
    return {"error": "timed out waiting for the approval"}


def _post(http: urllib3.PoolManager, url: str, doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    try:
        response = http.request(
            "POST", url, body=json.dumps(doc), headers={"Content-Type": "application/json"}
        )
    except HTTPError as exc:
        return 0, {"error": f"cannot reach {url}: {type(exc).__name__}"}
    try:
        answer = json.loads(response.data)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return response.status, {"error": f"HTTP {response.status} without a JSON answer"}
    return response.status, answer


def _save(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
