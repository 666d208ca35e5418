"""Remote and virtual PyPI repositories in process, against a static PEP 503 tree on 127.0.0.1.

The remote's pages come from the upstream's, with every file URL the
gateway's; files are fetched once, verified against the upstream's sha256,
and served from the remote afterwards. A virtual merges its members in order,
and a project name a hosted member publishes never comes from upstream.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from artifortress_pypi import releases, remote
from artifortress_pypi.upstream_pages import parse_page
from urllib3 import encode_multipart_formdata

from plugins.pypi.tests.pypi_dists import make_wheel, metadata_text
from plugins.pypi.tests.pypi_upstream import PypiTree
from tests.support.upstream import Upstream

JSON = "application/vnd.pypi.simple.v1+json"
WHEEL = "foo-1.0-py3-none-any.whl"


def wheel(folder: Path, name: str, version: str, **extra: str) -> Path:
    module = name.replace("-", "_")
    return make_wheel(
        folder,
        f"{module}-{version}-py3-none-any.whl",
        metadata_text(name, version, **extra).encode(),
        dist_info=f"{module}-{version}.dist-info",
    )


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Short timeouts: a stopped upstream fails requests at once."""
    return {"upstream_connect_timeout": "1", "upstream_read_timeout": "2", "upstream_retries": "0"}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream().running() as server:
        yield server


@pytest.fixture
def tree(upstream: Upstream, tmp_path: Path) -> PypiTree:
    tree = PypiTree(upstream)
    folder = tmp_path / "upstream"
    folder.mkdir()
    tree.add(wheel(folder, "foo", "1.0"), requires_python=">=3.8")
    tree.add(wheel(folder, "foo", "2.0"), yanked="broken build")
    return tree


@pytest.fixture
def repos(make_repo, tree: PypiTree) -> None:
    make_repo("py", format="pypi")
    make_repo("pypi-up", format="pypi", kind="remote", upstream={"url": tree.url})
    make_repo("all", format="pypi", kind="virtual", members=["py", "pypi-up"])


def page(api, repo: str, project: str) -> dict:
    answer = api.get(f"/pypi/{repo}/simple/{project}/", headers={"Accept": JSON})
    assert answer.status_code == 200, answer.text
    return dict(answer.json)


def download(api, repo: str, project: str, entry: dict):
    return api.get(urljoin(f"/pypi/{repo}/simple/{project}/", entry["url"]))


def upload(api, path: Path, repo: str = "py"):
    """twine's upload of a wheel built by :func:`wheel`."""
    data = path.read_bytes()
    name, version = path.name.split("-")[:2]
    body, content_type = encode_multipart_formdata(
        {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": name,
            "version": version,
            "filetype": "bdist_wheel",
            "pyversion": "py3",
            "metadata_version": "2.1",
            "sha256_digest": hashlib.sha256(data).hexdigest(),
            "content": (path.name, data, "application/octet-stream"),
        }
    )
    answer = api.client.simulate_request(
        "POST",
        f"/pypi/{repo}/legacy/",
        headers=api.headers({"Content-Type": content_type}),
        body=body,
    )
    assert answer.status_code == 200, answer.text


def test_the_remote_page_is_the_upstreams_through_the_gateway(admin, repos, tree):
    files = {f["filename"]: f for f in page(admin, "pypi-up", "foo")["files"]}
    assert set(files) == {WHEEL, "foo-2.0-py3-none-any.whl"}
    first, second = files[WHEEL], files["foo-2.0-py3-none-any.whl"]
    assert first["url"] == f"../../files/foo/1.0/{WHEEL}"
    assert (
        first["hashes"]["sha256"]
        == hashlib.sha256(tree.upstream.routes[f"/files/{WHEEL}"].body).hexdigest()
    )
    assert first["requires-python"] == ">=3.8"
    assert first["yanked"] is False
    assert second["yanked"] == "broken build"
    metadata = tree.upstream.routes[f"/files/{WHEEL}.metadata"].body
    assert first["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    assert "size" not in first  # an HTML upstream says none: API 1.0
    html = admin.get("/pypi/pypi-up/simple/foo/")
    assert html.headers["Content-Type"].startswith("text/html")
    assert 'data-yanked="broken build"' in html.text
    assert f'href="../../files/foo/1.0/{WHEEL}#sha256=' in html.text
    assert 'data-requires-python="&gt;=3.8"' in html.text
    again = admin.get("/pypi/pypi-up/simple/foo/", headers={"If-None-Match": html.headers["ETag"]})
    assert again.status_code == 304
    assert tree.upstream.hits["/simple/foo/"] == 1  # the core keeps the page for its TTL


def test_a_file_is_fetched_once_verified_and_kept(admin, repos, tree):
    entry = next(f for f in page(admin, "pypi-up", "foo")["files"] if f["filename"] == WHEEL)
    expected = tree.upstream.routes[f"/files/{WHEEL}"].body
    for _ in range(3):
        answer = download(admin, "pypi-up", "foo", entry)
        assert (answer.status_code, answer.content) == (200, expected)
    assert tree.hits(WHEEL) == 1
    metadata = admin.get(urljoin("/pypi/pypi-up/simple/foo/", entry["url"]) + ".metadata")
    assert hashlib.sha256(metadata.content).hexdigest() == entry["core-metadata"]["sha256"]
    version = admin.get("/v1/repos/pypi-up/packages/foo/versions/1.0").json
    assert version["published_by"] == "remote:pypi-up"
    assert {a["filename"] for a in version["artifacts"]} == {WHEEL, WHEEL + ".metadata"}
    index = admin.get("/pypi/pypi-up/simple/", headers={"Accept": JSON}).json
    assert index["projects"] == [{"name": "foo"}]  # what it holds, not all of upstream


def test_an_upstream_url_without_its_trailing_slash_keeps_its_last_segment(admin, make_repo, tree):
    without = tree.url.rstrip("/")  # http://127.0.0.1:port/simple
    created = make_repo("bare", format="pypi", kind="remote", upstream={"url": without})
    assert created["upstream"]["url"] == tree.url, "stored as a base URL"
    entry = next(f for f in page(admin, "bare", "foo")["files"] if f["filename"] == WHEEL)
    assert tree.upstream.hits["/simple/foo/"] == 1, "asked under /simple/, not beside it"
    assert download(admin, "bare", "foo", entry).status_code == 200


def test_only_files_the_upstream_page_lists_are_fetched(admin, repos, tree):
    tree.upstream.serve("/files/foo-3.0-py3-none-any.whl", b"not listed")
    assert admin.get("/pypi/pypi-up/files/foo/3.0/foo-3.0-py3-none-any.whl").status_code == 404
    assert admin.get(f"/pypi/pypi-up/files/foo/9.9/{WHEEL}").status_code == 404  # wrong version
    assert tree.upstream.hits["/files/foo-3.0-py3-none-any.whl"] == 0


def test_a_tampered_upstream_file_is_refused_and_nothing_is_kept(admin, repos, tree):
    entry = next(f for f in page(admin, "pypi-up", "foo")["files"] if f["filename"] == WHEEL)
    good = tree.tamper(WHEEL, b"malware")
    with pytest.raises(ConnectionResetError):  # streamed: ends short of its last byte
        download(admin, "pypi-up", "foo", entry)
    url = urljoin("/pypi/pypi-up/simple/foo/", entry["url"])
    refused = admin.get(url, headers={"Range": "bytes=0-9"})  # fetched first, then answered
    assert refused.status_code == 502
    assert "upstream_mismatch" in refused.text
    assert tree.hits(WHEEL) == 2, "nothing was kept"
    assert admin.get("/v1/repos/pypi-up/packages/foo").status_code == 404
    tree.tamper(WHEEL, good)
    assert download(admin, "pypi-up", "foo", entry).content == good


def test_json_upstream_pages_are_read_too(admin, make_repo, upstream):
    sha = "ab" * 32
    document = {
        "meta": {"api-version": "1.1"},
        "name": "bar",
        "versions": ["1.0"],
        "files": [
            {
                "filename": "bar-1.0.tar.gz",
                "url": "https://files.example/bar-1.0.tar.gz",
                "hashes": {"sha256": sha},
                "size": 10,
                "upload-time": "2024-01-02T03:04:05.000000Z",
                "yanked": False,
                "requires-python": ">=3.9",
            }
        ],
    }
    upstream.serve("/simple/bar/", json.dumps(document).encode(), content_type=JSON)
    make_repo("up2", format="pypi", kind="remote", upstream={"url": upstream.url + "simple/"})
    shown = page(admin, "up2", "bar")
    assert shown["meta"]["api-version"] == "1.3"
    assert shown["versions"] == ["1.0"]
    (entry,) = shown["files"]
    assert entry["url"] == "../../files/bar/1.0/bar-1.0.tar.gz"
    assert (entry["size"], entry["upload-time"]) == (10, "2024-01-02T03:04:05.000000Z")
    assert entry["hashes"] == {"sha256": sha}
    (listed,) = pypi_json(admin, "up2", "bar")["releases"]["1.0"]
    assert (listed["size"], listed["upload_time_iso_8601"]) == (10, "2024-01-02T03:04:05.000000Z")
    assert listed["requires_python"] == ">=3.9"


def test_an_unknown_project_is_a_404(admin, repos, tree):
    assert admin.get("/pypi/pypi-up/simple/nothing-here/").status_code == 404
    assert admin.get("/pypi/all/simple/nothing-here/").status_code == 404


def test_a_virtual_merges_hosted_and_remote_in_order(admin, repos, tree, tmp_path):
    upload(admin, wheel(tmp_path, "private-app", "0.1", Requires_Dist="foo>=1.0"))
    assert {f["filename"] for f in page(admin, "all", "private-app")["files"]} == {
        "private_app-0.1-py3-none-any.whl"
    }
    files = page(admin, "all", "foo")["files"]
    assert {f["filename"] for f in files} == {WHEEL, "foo-2.0-py3-none-any.whl"}
    entry = next(f for f in files if f["filename"] == WHEEL)
    answer = download(admin, "all", "foo", entry)
    assert answer.content == tree.upstream.routes[f"/files/{WHEEL}"].body
    mine = page(admin, "all", "private-app")["files"][0]
    assert download(admin, "all", "private-app", mine).status_code == 200
    index = admin.get("/pypi/all/simple/", headers={"Accept": JSON}).json
    assert [p["name"] for p in index["projects"]] == ["foo", "private-app"]


def test_a_hosted_name_is_never_served_from_upstream(admin, repos, tree, tmp_path):
    upload(admin, wheel(tmp_path, "foo", "0.5"))  # a private 'foo', lower than upstream's
    files = page(admin, "all", "foo")["files"]
    assert [f["filename"] for f in files] == ["foo-0.5-py3-none-any.whl"]
    assert page(admin, "all", "foo")["versions"] == ["0.5"]
    assert admin.get(f"/pypi/all/files/foo/1.0/{WHEEL}").status_code == 404
    assert tree.hits(WHEEL) == 0


def test_a_reader_of_the_virtual_sees_no_member_it_may_not_read(
    admin, api_factory, repos, tree, tmp_path
):
    upload(admin, wheel(tmp_path, "private-app", "0.1"))
    reader = api_factory.as_user("reader")
    assert admin.put("/v1/repos/all/bindings/reader", {"roles": ["read"]}).status_code == 200
    assert admin.put("/v1/repos/pypi-up/bindings/reader", {"roles": ["read"]}).status_code == 200
    assert reader.get("/pypi/all/simple/private-app/").status_code == 404
    assert admin.get("/pypi/all/simple/private-app/").status_code == 200
    assert (
        reader.get("/pypi/all/files/private-app/0.1/private_app-0.1-py3-none-any.whl").status_code
        == 404
    )
    assert page(reader, "all", "foo")["files"]  # public names still come from upstream
    index = reader.get("/pypi/all/simple/", headers={"Accept": JSON}).json
    assert "private-app" not in json.dumps(index)


def test_with_the_upstream_gone_what_was_fetched_is_still_served(admin, repos, tree, tmp_path):
    upload(admin, wheel(tmp_path, "private-app", "0.1"))
    entry = next(f for f in page(admin, "all", "foo")["files"] if f["filename"] == WHEEL)
    expected = download(admin, "all", "foo", entry).content
    tree.upstream.stop()
    assert download(admin, "all", "foo", entry).content == expected
    assert page(admin, "all", "foo")["files"]  # the page the core kept
    assert page(admin, "all", "private-app")["files"]  # hosted members are not held up
    unknown = admin.get("/pypi/all/simple/never-seen/")
    assert unknown.status_code == 502, unknown.text
    assert "127.0.0.1" in unknown.text


def test_an_upstream_page_is_read_once_per_fetch(admin, repos, tree, monkeypatch):
    reads: list[str] = []

    def counting(body: bytes, content_type: str, url: str):
        reads.append(url)
        return parse_page(body, content_type, url)

    monkeypatch.setattr(remote, "parse_page", counting)
    for accept in (JSON, "text/html", JSON):
        assert admin.get("/pypi/pypi-up/simple/foo/", headers={"Accept": accept}).status_code == 200
    assert len(reads) == 1
    answer = admin.get("/pypi/all/simple/foo/", headers={"Accept": JSON})
    again = admin.get(
        "/pypi/all/simple/foo/", headers={"Accept": JSON, "If-None-Match": answer.headers["ETag"]}
    )
    assert again.status_code == 304
    assert len(reads) == 1


def test_files_of_other_projects_on_an_upstream_page_are_left_out(admin, make_repo, upstream):
    def entry(filename: str) -> dict:
        url = f"https://files.example/{filename}"
        return {"filename": filename, "url": url, "hashes": {"sha256": "ab" * 32}}

    listed = ["Bar-1.0.tar.gz", "bar-1.1-py3-none-any.whl", "bar_extra-9.0-py3-none-any.whl"]
    listed += ["bar-extra-9.0.tar.gz", "evil-9.0.tar.gz"]
    document = {"meta": {"api-version": "1.0"}, "name": "bar", "files": [entry(f) for f in listed]}
    upstream.serve("/simple/bar/", json.dumps(document).encode(), content_type=JSON)
    make_repo("up3", format="pypi", kind="remote", upstream={"url": upstream.url + "simple/"})
    shown = page(admin, "up3", "bar")
    assert [f["filename"] for f in shown["files"]] == ["Bar-1.0.tar.gz", "bar-1.1-py3-none-any.whl"]
    assert "9.0" not in shown["versions"]
    other = admin.get("/pypi/up3/files/bar/9.0/bar_extra-9.0-py3-none-any.whl")
    assert other.status_code == 404
    assert upstream.hits["/bar_extra-9.0-py3-none-any.whl"] == 0


def pypi_json(api, repo: str, path: str) -> dict:
    answer = api.get(f"/pypi/{repo}/pypi/{path}/json")
    assert answer.status_code == 200, answer.text
    return dict(answer.json)


def test_the_json_api_of_a_remote_lists_every_upstream_version(admin, repos, tree):
    document = pypi_json(admin, "pypi-up", "foo")
    assert set(document["releases"]) == {"1.0", "2.0"}, "none fetched yet: all upstream's"
    info = document["info"]
    assert (info["name"], info["version"], info["requires_python"]) == ("foo", "1.0", ">=3.8")
    (first,) = document["releases"]["1.0"]
    assert first["url"].endswith(f"/pypi/pypi-up/files/foo/1.0/{WHEEL}")
    assert first["url"].startswith("http")
    expected = tree.upstream.routes[f"/files/{WHEEL}"].body
    assert first["digests"] == {"sha256": hashlib.sha256(expected).hexdigest()}
    assert first["requires_python"] == ">=3.8"
    assert document["urls"] == [first]
    (second,) = document["releases"]["2.0"]
    assert (second["yanked"], second["yanked_reason"]) == (True, "broken build")
    assert admin.get(urljoin("/", first["url"].split("/", 3)[3])).content == expected
    release = pypi_json(admin, "pypi-up", "foo/2.0")
    assert (release["info"]["version"], release["info"]["yanked"]) == ("2.0", True)
    assert admin.get("/pypi/pypi-up/pypi/foo/3.0/json").status_code == 404
    assert admin.get("/pypi/pypi-up/pypi/nothing-here/json").status_code == 404
    assert tree.upstream.hits["/simple/foo/"] == 1, "the page the simple pages keep"


def test_the_json_api_of_a_virtual_merges_its_members(admin, repos, tree, tmp_path):
    upload(admin, wheel(tmp_path, "private-app", "0.1", Summary="Mine"))
    mine = pypi_json(admin, "all", "private-app")
    assert mine["info"]["summary"] == "Mine"
    (file,) = mine["releases"]["0.1"]
    assert file["url"].endswith("/pypi/all/files/private-app/0.1/private_app-0.1-py3-none-any.whl")
    public = pypi_json(admin, "all", "foo")
    assert set(public["releases"]) == {"1.0", "2.0"}
    assert public["urls"][0]["url"].endswith(f"/pypi/all/files/foo/1.0/{WHEEL}")
    assert pypi_json(admin, "all", "foo/2.0")["info"]["yanked"] is True
    assert admin.get("/pypi/all/pypi/nothing-here/json").status_code == 404


def test_the_json_api_of_a_virtual_keeps_the_hosted_name_guard(
    admin, api_factory, repos, tree, tmp_path
):
    upload(admin, wheel(tmp_path, "foo", "0.5"))  # a private 'foo', lower than upstream's
    document = pypi_json(admin, "all", "foo")
    assert set(document["releases"]) == {"0.5"}
    assert admin.get("/pypi/all/pypi/foo/1.0/json").status_code == 404
    reader = api_factory.as_user("reader")
    assert admin.put("/v1/repos/all/bindings/reader", {"roles": ["read"]}).status_code == 200
    assert admin.put("/v1/repos/pypi-up/bindings/reader", {"roles": ["read"]}).status_code == 200
    assert reader.get("/pypi/all/pypi/foo/json").status_code == 404, "neither hosted nor upstream"


def test_a_remotes_releases_are_grouped_once_per_page_fetch(admin, repos, tree, monkeypatch):
    calls: list[str] = []
    grouped = releases._grouped

    def counting(name: str, listing, files_url: str):
        calls.append(name)
        return grouped(name, listing, files_url)

    monkeypatch.setattr(releases, "_grouped", counting)
    for path in ("foo", "foo/1.0", "foo"):
        pypi_json(admin, "pypi-up", path)
    assert calls == ["foo"]
