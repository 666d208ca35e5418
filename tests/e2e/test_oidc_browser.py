"""The UI's "Sign in with" link in Chromium, through a real OpenID provider, end to end.

The person clicks the link on the sign-in page, signs in at the IdP's own pages, lands back
on the page they asked for, signed in as the user just provisioned for them (with the mapped
group); the page passes axe-core like every other.  A disabled user sees the refusal.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from artifortress.testing.databases import service_missing
from artifortress.testing.server import ServerProcess
from tests.e2e.ui_browser_support import (
    AXE,
    axe_violations,
    chromium_missing,
    sign_in_at_idp_pages,
    start_chromium,
)
from tests.support.oidc_idp import gateway_client, local_idp, provider_setting

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT = 10
ACCOUNTS = {
    "sub-erin": {"preferred_username": "erin", "groups": ["devs"]},
    "sub-frank": {"preferred_username": "frank"},
}


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    missing = chromium_missing()
    if missing is not None:
        service_missing(missing)
    server = ServerProcess(tmp_path_factory.mktemp("oidc-ui") / "home")
    with local_idp([gateway_client(server.base_url)], ACCOUNTS) as idp:
        server.environ["ARTIFORTRESS_OIDC_PROVIDERS"] = provider_setting(
            idp, groups_claim="groups", group_mapping={"devs": "developers"}
        )
        with server:
            token = server.cli("admin", "create-token", "--user", "admin", "--admin")
            admin = {"Authorization": f"Bearer {token.stdout.split()[-1]}"}
            created = requests.post(
                f"{server.base_url}/v1/groups",
                json={"name": "developers"},
                headers=admin,
                timeout=TIMEOUT,
            )
            assert created.status_code == 201
            yield server, admin


@pytest.fixture
def driver() -> Iterator[webdriver.Chrome]:
    browser = start_chromium()
    yield browser
    browser.quit()


def _sign_in(driver: webdriver.Chrome, server: ServerProcess, login: str) -> str:
    """Sign in from the account page's 401; the heading of the page the browser lands on."""
    driver.get(f"{server.base_url}/ui/account")  # 401 page: "Sign in to see this page"
    driver.find_element(By.CSS_SELECTOR, "main a[href^='/ui/sign-in?next=']").click()
    driver.find_element(By.PARTIAL_LINK_TEXT, "Sign in with Local IdP").click()
    sign_in_at_idp_pages(driver, login)
    WebDriverWait(driver, TIMEOUT).until(lambda d: d.current_url.startswith(server.base_url))
    return str(driver.find_element(By.TAG_NAME, "h1").text)


def test_sign_in_with_the_idp_in_a_browser(
    gateway: tuple[ServerProcess, dict[str, str]], driver: webdriver.Chrome
) -> None:
    server, admin = gateway
    assert _sign_in(driver, server, "sub-erin") == "My account: erin"
    assert driver.current_url == f"{server.base_url}/ui/account"
    group = requests.get(f"{server.base_url}/v1/groups/developers", headers=admin, timeout=TIMEOUT)
    assert group.json()["members"] == ["erin"]
    if AXE.is_file():  # `make test` installs it; the UI's own browser test says if it is missing
        for page in ("/ui/device?user_code=BCDF-GHJK", "/ui/sign-in"):
            driver.get(server.base_url + page)
            assert axe_violations(driver) == [], page


def test_a_disabled_user_is_refused_in_the_browser(
    gateway: tuple[ServerProcess, dict[str, str]], driver: webdriver.Chrome
) -> None:
    server, admin = gateway
    assert _sign_in(driver, server, "sub-frank") == "My account: frank"
    disabled = requests.patch(
        f"{server.base_url}/v1/users/frank", json={"disabled": True}, headers=admin, timeout=TIMEOUT
    )
    assert disabled.status_code == 200
    driver.delete_all_cookies()
    assert _sign_in(driver, server, "sub-frank") == "Sign in"
    alert = driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "frank" in alert
    assert "disabled" in alert
