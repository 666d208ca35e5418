"""The UI's reading pages through the real app: what anonymous users and readers see."""

from __future__ import annotations

import re

import falcon.testing

import artifortress.app as app_module
from tests.functional.ui.conftest import publish_version

HTML = {"Accept": "text/html"}


def test_root_sends_browsers_to_the_ui_and_api_clients_get_the_usual_answer(
    client, services, monkeypatch
):
    browser = client.simulate_get("/", headers=HTML)
    assert browser.status_code == 302
    assert browser.headers["Location"] == "/ui/"
    monkeypatch.setattr(app_module, "mount_ui", lambda app, services: None)
    without_ui = falcon.testing.TestClient(app_module.create_app(services))
    for method in ("GET", "HEAD", "POST"):
        for accept in ({"Accept": "application/json"}, {}, {"Accept": "*/*"}):
            headers = {"X-Request-Id": "fixed-request-id-1", **accept}
            now = client.simulate_request(method, "/", headers=headers)
            before = without_ui.simulate_request(method, "/", headers=headers)
            assert (now.status, now.headers, now.content) == (
                before.status,
                before.headers,
                before.content,
            )
    posted = client.simulate_post("/", headers=HTML)  # a browser's form post: no redirect
    assert posted.status_code == 404


def test_ui_pages_carry_a_strict_content_security_policy(client):
    page = client.simulate_get("/ui/", headers=HTML)
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"


def test_assets_have_hashed_names_and_long_cache(client):
    page = client.simulate_get("/ui/", headers=HTML)
    css = re.search(r'href="(/ui/static/ui\.[0-9a-f]{12}\.css)"', page.text)
    js = re.search(r'src="(/ui/static/ui\.[0-9a-f]{12}\.js)"', page.text)
    assert css
    assert js
    for url in (css.group(1), js.group(1)):
        asset = client.simulate_get(url)
        assert asset.status_code == 200
        assert "immutable" in asset.headers["Cache-Control"]
        assert "max-age=31536000" in asset.headers["Cache-Control"]
    assert client.simulate_get("/ui/static/ui.000000000000.css").status_code == 404
    assert client.simulate_get("/ui/static/ui.css").status_code == 404


def test_anonymous_users_see_public_repositories_only(admin, make_repo, browser):
    make_repo("open", "generic", public=True)
    make_repo("secret", "generic")
    publish_version(admin, "open", "tool", "1.0.0", {"tool.tgz": b"one"})
    home = browser.get("/ui/")
    assert home.status_code == 200
    assert "/ui/repos/open" in home.text
    assert "secret" not in home.text
    private = browser.get("/ui/repos/secret")
    assert private.status_code == 401
    assert "Sign in" in private.text
    assert "WWW-Authenticate" not in private.headers


def test_home_lists_format_kind_package_count_and_last_publish(admin, make_repo, browser):
    make_repo("libs", "generic", public=True)
    publish_version(admin, "libs", "alpha", "1.0.0", {"a.tgz": b"a"})
    publish_version(admin, "libs", "beta", "2.0.0", {"b.tgz": b"b"})
    home = browser.get("/ui/")
    row = re.search(r'<tr>\s*<td><a href="/ui/repos/libs">.*?</tr>', home.text, re.S)
    assert row, home.text
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.S)
    assert cells[1:4] == ["generic", "hosted", "2"]
    assert "UTC" in cells[4]


def test_repository_page_paginates_by_name_and_filters_by_prefix(admin, make_repo, browser):
    make_repo("many", "generic", public=True)
    for index in range(55):
        publish_version(admin, "many", f"pkg{index:03d}", "1.0", {"f.bin": b"x%d" % index})
    first = browser.get("/ui/repos/many")
    assert first.status_code == 200
    names = re.findall(r'/ui/repos/many/packages/(pkg\d+)"', first.text)
    assert names == [f"pkg{i:03d}" for i in range(50)]
    next_link = re.search(r'href="(/ui/repos/many\?[^"]*after=pkg049)"', first.text)
    assert next_link
    second = browser.get(next_link.group(1).replace("&amp;", "&"))
    assert re.findall(r'/ui/repos/many/packages/(pkg\d+)"', second.text) == [
        f"pkg{i:03d}" for i in range(50, 55)
    ]
    filtered = browser.get("/ui/repos/many", params={"prefix": "pkg01"})
    assert re.findall(r'/ui/repos/many/packages/(pkg\d+)"', filtered.text) == [
        f"pkg{i:03d}" for i in range(10, 20)
    ]


def test_package_page_shows_versions_files_and_install_commands(admin, make_repo, browser):
    make_repo("py", "pypi", public=True)
    meta = {
        "summary": "A demo",
        "description": "Demo *README*",
        "description_content_type": "text/markdown",
    }
    publish_version(admin, "py", "demo", "1.0", {"demo-1.0.tar.gz": b"old"}, meta)
    publish_version(admin, "py", "demo", "1.1", {"demo-1.1.tar.gz": b"new bytes"}, meta)
    admin.post("/v1/repos/py/packages/demo/versions/1.0/yank", {"reason": "broken"})
    page = browser.get("/ui/repos/py/packages/demo")
    assert page.status_code == 200, page.text
    text = page.text
    assert "<em>README</em>" in text
    assert "demo-1.1.tar.gz" in text
    assert "9 B" in text
    assert "pip install --index-url http://falconframework.org/pypi/py/simple/ demo==1.1" in text
    assert "uv pip install" in text
    assert "poetry add" in text
    assert re.search(r"1\.0</a>.*?yanked", text, re.S)
    old = browser.get("/ui/repos/py/packages/demo", params={"version": "1.0"})
    assert "demo-1.0.tar.gz" in old.text
    assert browser.get("/ui/repos/py/packages/nope").status_code == 404


def test_search_finds_packages_of_readable_repositories(admin, make_repo, browser, drain_events):
    make_repo("open", "generic", public=True)
    make_repo("closed", "generic")
    publish_version(admin, "open", "findme", "1.0", {"f.tgz": b"1"}, {"summary": "needle here"})
    publish_version(admin, "closed", "findme-too", "1.0", {"f.tgz": b"2"}, {"summary": "needle"})
    drain_events()
    found = browser.get("/ui/search", params={"q": "needle"})
    assert found.status_code == 200
    assert "/ui/repos/open/packages/findme" in found.text
    assert "findme-too" not in found.text


def test_bad_input_is_a_clear_4xx_page(browser):
    assert browser.get("/ui/search", params={"q": "x" * 300}).status_code == 400
    assert browser.get("/ui/search", params={"q": "a", "page": "0"}).status_code == 400
    assert browser.get("/ui/no-such-page").status_code == 404
    assert browser.get("/ui/repos/UPPER").status_code in (401, 404)
    deleted = browser.client.simulate_delete("/ui/", headers=HTML)
    assert deleted.status_code == 405


def test_head_is_answered_like_get_without_a_body(client):
    head = client.simulate_head("/ui/", headers=HTML)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Type"].startswith("text/html")


def test_a_virtual_repository_lists_the_members_the_user_may_read(
    admin, make_repo, api_factory, browser
):
    make_repo("open", "generic", public=True)
    make_repo("hidden", "generic")
    made = admin.post(
        "/v1/repos",
        {"key": "all", "format": "generic", "kind": "virtual", "members": ["open", "hidden"]},
    )
    assert made.status_code == 201, made.text
    browser.sign_in(api_factory.token_for("rita", roles={"all": ["read"]}))
    page = browser.get("/ui/repos/all")
    assert page.status_code == 200
    assert 'href="/ui/repos/open"' in page.text
    assert "/ui/repos/hidden" not in page.text
    assert "virtual" in page.text


def test_search_narrows_to_a_format_and_pages(admin, make_repo, browser, drain_events):
    make_repo("gen", "generic", public=True)
    make_repo("py", "pypi", public=True)
    for index in range(22):
        publish_version(admin, "gen", f"needle{index:02d}", "1.0", {"f.tgz": b"%d" % index})
    publish_version(admin, "py", "needle-py", "1.0", {"n.tar.gz": b"p"}, {"summary": "needle"})
    drain_events()
    everything = browser.get("/ui/search", params={"q": "needle"})
    assert "23 packages found" in everything.text
    next_page = re.search(r'href="(/ui/search\?[^"]*page=2)"', everything.text).group(1)
    second = browser.get(next_page.replace("&amp;", "&"))
    assert second.text.count('<li>\n      <a href="/ui/repos/') == 3
    only_py = browser.get("/ui/search", params={"q": "needle", "format": "pypi"})
    assert "1 package found" in only_py.text
    assert "/ui/repos/py/packages/needle-py" in only_py.text
    assert browser.get("/ui/search", params={"q": "x", "format": "nope"}).status_code == 400
