"""Support of the web UI's browser tests: Debian's Chromium driven by Selenium, and axe-core.

Chromium and chromium-driver come from Debian (``make test`` installs them as
it installs nginx); axe-core from npm into ``.venv/share/axe-core`` (the
Makefile), injected into the page by the test, never served by the gateway.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(sys.prefix) / "share" / "axe-core" / "axe.min.js"
#: Where screenshots of the main pages go: a test artifact, kept after the run.
SCREENSHOTS = Path(os.environ.get("ARTIFORTRESS_UI_SCREENSHOTS", "build/ui-screenshots"))


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing: `make test` installs chromium and chromium-driver (apt)"
    return None


def start_chromium(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument("--no-first-run")
    options.add_argument("--password-store=basic")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(5)  # an element of the next page may take a moment to be there
    return driver


def axe_violations(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page (WCAG 2 A/AA rules)."""
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const rules = {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "best-practice"]}};
        const failed = e => [{id: "axe-error", impact: "critical", help: String(e)}];
        axe.run(document, rules).then(
          r => done(JSON.stringify(r.violations)),
          e => done(JSON.stringify(failed(e))));
        """
    )
    violations: list[dict[str, Any]] = json.loads(result)
    return [v for v in violations if v.get("impact") in ("serious", "critical")]


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def run_snippet(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run an install command copied from the page, as a user pastes it into a shell."""
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [bash, "-euo", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def sign_in_at_idp_pages(driver: webdriver.Chrome, login: str) -> None:
    """Fill the local OpenID provider's pages (tests/support/oidc_idp): login, then consent.

    The provider's development pages take any password; the consent page has one button.
    """
    from selenium.webdriver.common.by import By

    driver.find_element(By.NAME, "login").send_keys(login)
    driver.find_element(By.NAME, "password").send_keys("any password")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The consent page replaces the login page: wait for its form before pressing its button.
    consent = driver.find_element(By.CSS_SELECTOR, "input[name=prompt][value=consent]")
    consent.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()
