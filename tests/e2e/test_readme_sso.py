"""The README's "Single sign-on (OIDC)" commands, run as a reader would, with a browser's part.

Its blocks are fenced ``bash``, not ``sh``: the five-minute tour (test_readme_tour.py) runs
every ``sh`` block against one server it started beforehand, while these start an IdP that
server must know at start and wait for a person's approval.  This test runs them in order:
the IdP command (in the background, its port a free one), the provider setting (given to the
gateway it starts, as ``make serve`` would read it), the group, a sign-in as alice through the
IdP's pages over HTTP, and ``artifortress login --oidc`` approved the way its output says.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess, free_port
from tests.support.oidc_idp import require_oidc_provider, ui_sign_in

pytestmark = [pytest.mark.e2e]

README = Path(__file__).resolve().parents[2] / "README.md"
_BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
TIMEOUT = 10


def sso_blocks() -> list[str]:
    section = README.read_text().split("### Single sign-on (OIDC)\n", 1)[1].split("\n## ")[0]
    section = section.split("\n### ")[0]
    return [
        "".join(line for line in b.splitlines(keepends=True) if not line.startswith("make serve"))
        for b in _BASH_BLOCK.findall(section)
    ]


def test_the_sso_section_runs(tmp_path: Path) -> None:
    require_oidc_provider()
    idp_block, gateway_block, login_block = sso_blocks()
    server = ServerProcess(tmp_path / "home")
    idp_port = free_port()

    def provided(block: str) -> str:
        return block.replace("127.0.0.1:8080", f"127.0.0.1:{server.port}").replace(
            "9400", str(idp_port)
        )

    home = tmp_path / "user"
    home.mkdir()
    shell_env = {
        **server.environ,
        "HOME": str(home),
        "PATH": f"{Path(sys.prefix) / 'bin'}:{os.environ['PATH']}",
    }
    repo = README.parent
    # The IdP runs as long as its shell: `wait` keeps the block's background job attached.
    idp = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", provided(idp_block) + "wait\n"],
        cwd=repo,
        env=shell_env,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{idp_port}/.well-known/openid-configuration")
        setting_line, group_line = provided(gateway_block).strip().splitlines()
        setting = subprocess.run(
            ["bash", "-c", setting_line + '\nprintf %s "$ARTIFORTRESS_OIDC_PROVIDERS"'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        server.environ["ARTIFORTRESS_OIDC_PROVIDERS"] = setting
        with server:
            token = server.cli("admin", "create-token", "--user", "admin", "--admin")
            admin_token = token.stdout.split()[-1]
            env = {
                **shell_env,
                "A": server.base_url,
                "H": f"Authorization: Bearer {admin_token}",
            }
            subprocess.run(["bash", "-euo", "pipefail", "-c", group_line], env=env, check=True)
            _sign_in_and_check_alice(server, admin_token)
            printed = _login_as_alice(server, provided(login_block), env, repo)
        token_file = home / ".artifortress-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert token_file.read_text().strip() == printed
    finally:
        os.killpg(idp.pid, signal.SIGTERM)
        idp.wait(timeout=20)


def _wait_for(url: str) -> None:
    for _ in range(100):
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def _sign_in_and_check_alice(server: ServerProcess, admin_token: str) -> None:
    page = requests.get(f"{server.base_url}/ui/sign-in", timeout=TIMEOUT)
    assert "Sign in with Local IdP" in page.text
    with requests.Session() as browser:
        assert ui_sign_in(browser, server.base_url, "alice").status_code == 303
    group = requests.get(
        f"{server.base_url}/v1/groups/developers",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=TIMEOUT,
    )
    assert group.json()["members"] == ["alice"]


def _login_as_alice(server: ServerProcess, block: str, env: dict[str, str], cwd: Path) -> str:
    cli = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stderr is not None
        found = re.search(r"Open (\S+)", cli.stderr.readline())
        assert found
        with requests.Session() as browser:
            assert ui_sign_in(browser, server.base_url, "alice").status_code == 303
            page = browser.get(found.group(1), timeout=TIMEOUT)
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            code = re.search(r'name="user_code"[^>]*value="([^"]+)"', page.text)
            assert csrf
            assert code
            approved = browser.post(
                f"{server.base_url}/ui/device",
                data={"csrf": csrf.group(1), "user_code": code.group(1), "decision": "approve"},
                timeout=TIMEOUT,
            )
            assert approved.status_code == 200
        stdout, stderr = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 0, stderr
    whoami = requests.get(
        f"{server.base_url}/v1/whoami",
        headers={"Authorization": f"Bearer {stdout.strip()}"},
        timeout=TIMEOUT,
    )
    assert whoami.json()["user"] == "alice"
    return stdout.strip()
