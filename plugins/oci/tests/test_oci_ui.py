"""A pushed image in the web UI: the repository lists it, its page shows its tag and manifests."""

from __future__ import annotations

import re

from oci_images import make_image

from tests.functional.ui.browser import Browser


def test_a_pushed_image_shows_in_the_web_ui(registry, admin, client):
    assert registry.push_image("team/app", make_image("ui"), tag="1.0").status_code == 201
    browser = Browser(client)
    assert admin.token is not None
    browser.sign_in(admin.token)
    listing = browser.get("/ui/repos/containers")
    assert listing.status_code == 200, listing.text
    link = re.search(r'href="(/ui/repos/containers/packages/[^"]+)"', listing.text)
    assert link is not None, listing.text
    assert "team/app" in listing.text
    page = browser.get(link.group(1))
    assert page.status_code == 200, page.text
    assert "sha256-" in page.text  # the manifest's version
    # Install commands pull by digest from this gateway's /v2/.
    assert re.search(r"podman pull [^<]*/containers/team/app@sha256:[0-9a-f]{64}", page.text)
