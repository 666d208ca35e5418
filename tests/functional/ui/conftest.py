"""Fixtures of the UI's functional tests: a browser on the real app, and published packages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from artifortress.testing.helpers import Api
from tests.functional.ui.browser import Browser
from tests.functional.versions_helpers import add_file, draft, publish, upload


@pytest.fixture
def browser(client: Any) -> Browser:
    return Browser(client)


@pytest.fixture
def new_browser(client: Any) -> Callable[[], Browser]:
    return lambda: Browser(client)


def publish_version(
    api: Api,
    repo: str,
    package: str,
    version: str,
    files: dict[str, bytes],
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Draft (with *metadata*), add *files*, publish: as a format plugin would through the core."""
    body: dict[str, Any] = {"package": package, "version": version}
    if metadata is not None:
        body["metadata"] = metadata
    opened = api.post(f"/v1/repos/{repo}/packages/versions/drafts", body)
    assert opened.status_code == 201, opened.text
    for filename, data in files.items():
        added = add_file(api, repo, opened.json["id"], filename, upload(api, repo, data))
        assert added.status_code == 201, added.text
    published = publish(api, repo, opened.json["id"])
    assert published.status_code in (200, 202), published.text
    return dict(published.json)


__all__ = ["draft", "publish_version"]
