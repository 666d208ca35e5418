"""The web UI in a real browser: headless Chromium (Debian) driven by Selenium, live server.

One administrator's journey (sign in with a token, browse to a package
uploaded by twine and one published by npm, copy their install commands and
run them, create and revoke a token and see it stop working, release a
quarantined version, filter the audit log), an anonymous reader without
JavaScript at phone width, and axe-core on the main pages.  Screenshots of the
pages go to ``build/ui-screenshots`` (``ARTIFORTRESS_UI_SCREENSHOTS``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from artifortress.testing.databases import service_missing
from artifortress.testing.server import ServerProcess
from plugins.pypi.tests.pypi_dists import make_wheel
from tests.e2e.ui_browser_support import (
    AXE,
    axe_violations,
    chromium_missing,
    run_snippet,
    screenshot,
    start_chromium,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _chromium() -> None:
    """Skip locally, fail under CI: `make test` installs chromium, so its absence is a bug."""
    missing = chromium_missing()
    if missing is not None:
        service_missing(missing)


README = """# ui-demo

Some **bold** text and a [link](https://example.org/).

<script>window.pwned = true</script>
<img src="x" onerror="window.pwned = true">
[click](javascript:window.pwned=true)
"""
METADATA = (
    "Metadata-Version: 2.1\nName: ui-demo\nVersion: 1.0\nSummary: A package for the UI test\n"
    "Description-Content-Type: text/markdown\n\n" + README
)


@dataclass
class Site:
    server: ServerProcess
    token: str
    work: Path

    @property
    def url(self) -> str:
        return self.server.base_url

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        assert answer.status_code < 300, answer.text
        return answer


def _npm_env(root: Path, registry: str, token: str | None) -> dict[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    npmrc = root / "npmrc"
    lines = [f"registry={registry}"]
    if token:
        lines.append(f"{registry.removeprefix('http:')}:_authToken={token}")
    npmrc.write_text("\n".join(lines) + "\n")
    (root / "home").mkdir(exist_ok=True)
    return {
        **os.environ,
        "HOME": str(root / "home"),
        "npm_config_cache": str(root / "cache"),
        "npm_config_userconfig": str(npmrc),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }


def _publish_with_twine(site: Site) -> None:
    dist = site.work / "dist"
    dist.mkdir()
    wheel = make_wheel(
        dist,
        "ui_demo-1.0-py3-none-any.whl",
        METADATA.encode(),
        dist_info="ui_demo-1.0.dist-info",
        extra_members={"ui_demo-1.0.dist-info/RECORD": b""},
    )
    twine = Path(sys.executable).with_name("twine")
    done = subprocess.run(
        [
            *(str(twine), "upload", "--repository-url", f"{site.url}/pypi/py/legacy/"),
            *("-u", "__token__", "-p", site.token, "--non-interactive", str(wheel)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _publish_with_npm(site: Site) -> None:
    project = site.work / "npm-project"
    project.mkdir()
    (project / "package.json").write_text(
        json.dumps({"name": "@ui/npm-demo", "version": "1.0.0", "description": "npm for the UI"})
    )
    (project / "README.md").write_text("# npm-demo\n\nInstalled from *Artifortress*.\n")
    (project / "index.js").write_text("module.exports = 42;\n")
    env = _npm_env(site.work / "npm-publisher", f"{site.url}/npm/js/", site.token)
    done = subprocess.run(
        ["npm", "publish", "--access", "public"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _quarantine_one(site: Site) -> None:
    site.api("POST", "/v1/repos", json={"key": "held", "format": "generic"})
    site.api("PUT", "/generic/held/left-pad-tool/1.0/a.txt", data=b"a")
    site.api("PUT", "/v1/repos/held/policy", json={"typosquat": True})
    site.api("PUT", "/generic/held/leftpad-tool/1.0/a.txt", data=b"b")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("ui-browser")
    with ServerProcess(root / "home") as server:
        # The first start tells where to sign in, next to how to get the token.
        assert f"sign in with it\nin a browser at {server.base_url}/ui/" in server.stdout
        created = server.cli("admin", "create-token", "--user", "admin", "--admin")
        site = Site(server, created.stdout.strip().splitlines()[-1], root)
        site.api("POST", "/v1/repos", json={"key": "py", "format": "pypi", "public": True})
        site.api("POST", "/v1/repos", json={"key": "js", "format": "npm", "public": True})
        site.api("POST", "/v1/repos", json={"key": "team", "format": "generic"})
        site.api("PUT", "/generic/team/secret-tool/1.0/tool.tgz", data=b"secret")
        _publish_with_twine(site)
        _publish_with_npm(site)
        _quarantine_one(site)
        yield site


@pytest.fixture
def driver() -> Iterator[webdriver.Chrome]:
    chromium = start_chromium()
    try:
        yield chromium
    finally:
        chromium.quit()


def _sign_in(driver: webdriver.Chrome, site: Site) -> None:
    driver.get(f"{site.url}/")
    assert driver.current_url == f"{site.url}/ui/"  # / sends browsers to the UI
    driver.find_element(By.LINK_TEXT, "Sign in").click()
    driver.find_element(By.ID, "token").send_keys(site.token)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    assert driver.find_element(By.LINK_TEXT, "admin")  # the header names the user


def _snippet(driver: webdriver.Chrome, tool: str) -> str:
    for block in driver.find_elements(By.CSS_SELECTOR, ".snippet"):
        if block.find_element(By.TAG_NAME, "h3").text == tool:
            return str(block.find_element(By.TAG_NAME, "code").get_attribute("textContent"))
    raise AssertionError(f"no {tool} snippet on {driver.current_url}")


def _copied(driver: webdriver.Chrome, site: Site, tool: str) -> str:
    """Click the copy button of *tool*'s command and read what the clipboard holds."""
    driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": site.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    button = driver.find_element(By.XPATH, f"//button[normalize-space()='Copy {tool} command']")
    button.click()
    text: str = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, e => done('clipboard: ' + e));"
    )
    return text


def test_an_administrators_day_in_the_browser(site, driver, tmp_path):
    _sign_in(driver, site)
    screenshot(driver, "home")
    # A package uploaded by twine: README rendered harmlessly, files, install commands.
    driver.find_element(By.LINK_TEXT, "py").click()
    screenshot(driver, "repository")
    driver.find_element(By.LINK_TEXT, "ui-demo").click()
    assert driver.find_element(By.CSS_SELECTOR, ".readme h1").text.startswith("ui-demo")
    assert driver.find_element(By.CSS_SELECTOR, ".readme strong").text == "bold"
    assert driver.execute_script("return window.pwned === undefined")
    assert "ui_demo-1.0-py3-none-any.whl" in driver.page_source
    screenshot(driver, "package-pypi")
    pip = _copied(driver, site, "pip")
    assert pip == _snippet(driver, "pip")
    assert pip.startswith(f"pip install --index-url {site.url}/pypi/py/simple/ ")
    target = tmp_path / "site-packages"
    command = pip.replace("pip install", f"{sys.executable} -m pip install --target {target}", 1)
    # pip's configuration of this machine is ignored: what it installs came through the gateway.
    pip_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    installed = run_snippet(
        command + " --no-cache-dir --disable-pip-version-check", tmp_path, pip_env
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert list(target.glob("ui_demo-1.0.dist-info"))
    # A package published by npm, by search.
    search = driver.find_element(By.ID, "top-q")
    search.send_keys("npm-demo", Keys.ENTER)
    driver.find_element(By.PARTIAL_LINK_TEXT, "@ui/npm-demo").click()
    assert driver.find_element(By.CSS_SELECTOR, ".readme em").text == "Artifortress"
    assert "latest" in driver.find_element(By.ID, "tags-h").find_element(By.XPATH, "..").text
    screenshot(driver, "package-npm")
    npm = _snippet(driver, "npm")
    folder = tmp_path / "npm-app"
    folder.mkdir()
    (folder / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    env = _npm_env(tmp_path / "npm-user", f"{site.url}/npm/js/", None)
    installed = run_snippet(npm, folder, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (folder / "node_modules" / "@ui" / "npm-demo" / "index.js").exists()
    # A token created in the UI works, and stops working once revoked in the UI.
    driver.find_element(By.LINK_TEXT, "admin").click()
    driver.find_element(By.ID, "token-name").send_keys("browser token")
    driver.find_element(By.ID, "token-ttl").clear()
    driver.find_element(By.ID, "token-ttl").send_keys("3")
    driver.find_element(By.XPATH, "//button[normalize-space()='Create token']").click()
    secret = driver.find_element(By.ID, "new-token").text
    screenshot(driver, "account")
    whoami = requests.get(
        f"{site.url}/v1/whoami", headers={"Authorization": f"Bearer {secret}"}, timeout=10
    )
    assert whoami.status_code == 200
    driver.get(f"{site.url}/ui/account")
    assert secret not in driver.page_source
    driver.find_element(By.CSS_SELECTOR, "button[aria-label='Revoke token browser token']").click()
    assert "no longer works" in driver.find_element(By.CSS_SELECTOR, ".notice").text
    # The other worker process may trust its cached lookup for up to a second (the
    # revocation promise): the token must stop working within that bound, not at once.
    deadline = time.monotonic() + 3
    while True:
        whoami = requests.get(
            f"{site.url}/v1/whoami", headers={"Authorization": f"Bearer {secret}"}, timeout=10
        )
        if whoami.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert whoami.status_code == 401
    # Quarantine: release the held version; it downloads afterwards.
    held = f"{site.url}/generic/held/leftpad-tool/1.0/a.txt"
    auth = {"Authorization": f"Bearer {site.token}"}
    assert requests.get(held, headers=auth, timeout=10).status_code == 404
    driver.find_element(By.LINK_TEXT, "Quarantine").click()
    screenshot(driver, "quarantine")
    driver.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Release')]").click()
    assert "released" in driver.find_element(By.CSS_SELECTOR, ".notice").text
    assert requests.get(held, headers=auth, timeout=10).content == b"b"
    # The audit log, filtered.
    driver.find_element(By.LINK_TEXT, "Audit log").click()
    driver.find_element(By.ID, "f-action").send_keys("quarantine.release")
    driver.find_element(By.XPATH, "//button[normalize-space()='Filter']").click()
    WebDriverWait(driver, 10).until(lambda d: "action=quarantine.release" in d.current_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")
    assert len(rows) == 1
    assert "quarantine.release" in rows[0].text
    assert "admin" in rows[0].text
    screenshot(driver, "audit")


def test_a_virtual_repository_is_created_and_reordered_in_the_browser(site, driver):
    site.api("POST", "/v1/repos", json={"key": "py-extra", "format": "pypi"})
    _sign_in(driver, site)
    driver.get(f"{site.url}/ui/admin/repos/new")
    driver.find_element(By.ID, "repo-key").send_keys("py-all")
    Select(driver.find_element(By.ID, "repo-format")).select_by_value("pypi")
    Select(driver.find_element(By.ID, "repo-kind")).select_by_value("virtual")
    driver.find_element(By.ID, "member-1").send_keys("py")
    driver.find_element(By.ID, "member-2").send_keys("py-extra")
    driver.find_element(By.XPATH, "//button[normalize-space()='Create repository']").click()
    assert "was created" in driver.find_element(By.CSS_SELECTOR, ".notice").text
    assert site.api("GET", "/v1/repos/py-all").json()["members"] == ["py", "py-extra"]
    driver.find_element(By.ID, "member-1").clear()
    driver.find_element(By.ID, "member-1").send_keys("py-extra")
    driver.find_element(By.ID, "member-2").clear()
    driver.find_element(By.ID, "member-2").send_keys("py")
    driver.find_element(By.XPATH, "//button[normalize-space()='Save the members']").click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("notice=saved"))
    assert "Saved." in driver.find_element(By.CSS_SELECTOR, ".notice").text
    assert site.api("GET", "/v1/repos/py-all").json()["members"] == ["py-extra", "py"]
    screenshot(driver, "virtual-settings")
    if AXE.exists():
        assert [(v["id"], v.get("help")) for v in axe_violations(driver)] == []


def test_anonymous_reading_without_javascript_at_phone_width(site):
    options_driver = start_chromium(width=390, height=844)
    try:
        options_driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        options_driver.get(f"{site.url}/ui/")
        page = options_driver.page_source
        assert "/ui/repos/py" in page
        assert "/ui/repos/js" in page
        assert "/ui/repos/team" not in page  # private: anonymous users do not see it
        options_driver.find_element(By.LINK_TEXT, "py").click()
        options_driver.find_element(By.LINK_TEXT, "ui-demo").click()
        assert "pip install --index-url" in options_driver.page_source
        options_driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
        overflow = options_driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
        screenshot(options_driver, "package-phone")
    finally:
        options_driver.quit()


def test_keyboard_users_can_skip_to_the_content(site, driver):
    driver.get(f"{site.url}/ui/")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = driver.switch_to.active_element
    assert focused.text == "Skip to content"
    assert focused.get_attribute("href").endswith("#main")


def test_axe_finds_no_serious_violation_on_the_main_pages(site, driver):
    if not AXE.exists():
        service_missing(f"{AXE} (make test installs axe-core)")
    pages = [
        "/ui/",
        "/ui/sign-in",
        "/ui/search?q=demo",
        "/ui/repos/py",
        "/ui/repos/py/packages/ui-demo",
    ]
    found = {}
    for path in pages:
        driver.get(site.url + path)
        found[path] = axe_violations(driver)
    _sign_in(driver, site)
    for path in [
        "/ui/account",
        "/ui/admin/quarantine?state=all",
        "/ui/admin/audit",
        "/ui/admin/people",
        "/ui/admin/outbox?state=all",
        "/ui/admin/repos/new",
        "/ui/repos/team/settings",
        "/ui/repos/js/packages/@ui/npm-demo",
    ]:
        driver.get(site.url + path)
        found[path] = axe_violations(driver)
    problems = {
        path: [(v["id"], v["impact"], v.get("help")) for v in violations]
        for path, violations in found.items()
        if violations
    }
    assert problems == {}, json.dumps(problems, indent=1)
