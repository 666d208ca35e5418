"""The example Helm plugin end to end over HTTP, with the plugin author's fixtures only."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import time

import yaml

from artifortress.testing.bombs import tar_gz_bomb


def chart(name: str, version: str) -> bytes:
    """A minimal chart archive: ``{name}/Chart.yaml`` and a template."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in {
            f"{name}/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n",
            f"{name}/templates/cm.yaml": "kind: ConfigMap\n",
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload(api, repo: str, data: bytes):
    return api.client.simulate_request(
        "POST", f"/helm/{repo}/api/charts", headers=api.headers(), body=data
    )


def test_upload_index_download_delete(admin, make_repo):
    make_repo("charts", format="helm")
    first, second = chart("web", "1.0.0"), chart("web", "1.1.0")
    assert upload(admin, "charts", first).status_code == 201
    assert upload(admin, "charts", second).status_code == 201
    assert upload(admin, "charts", first).status_code == 409
    index = yaml.safe_load(admin.get("/helm/charts/index.yaml").text)
    entries = index["entries"]["web"]
    assert [e["version"] for e in entries] == ["1.1.0", "1.0.0"]
    assert entries[1]["digest"] == hashlib.sha256(first).hexdigest()
    assert entries[1]["urls"] == ["charts/web-1.0.0.tgz"], "relative to index.yaml, as Helm takes"
    downloaded = admin.get("/helm/charts/" + entries[1]["urls"][0])
    assert downloaded.content == first
    assert admin.delete("/helm/charts/api/charts/web/1.0.0").status_code == 200
    after = yaml.safe_load(admin.get("/helm/charts/index.yaml").text)
    assert [e["version"] for e in after["entries"]["web"]] == ["1.1.0"]


def test_index_is_stored_and_revalidated(admin, make_repo):
    make_repo("charts", format="helm")
    upload(admin, "charts", chart("web", "1.0.0"))
    first = admin.get("/helm/charts/index.yaml")
    assert admin.get("/helm/charts/index.yaml").text == first.text, (
        "served from the stored rendering"
    )
    assert (
        admin.get(
            "/helm/charts/index.yaml", headers={"If-None-Match": first.headers["etag"]}
        ).status_code
        == 304
    )


def test_bad_chart_is_refused_and_nothing_published(admin, make_repo):
    make_repo("charts", format="helm")
    assert upload(admin, "charts", b"not a tarball").status_code == 400
    assert admin.get("/v1/repos/charts/packages").json["packages"] == []


def test_gzip_bomb_is_refused_quickly(admin, make_repo):
    """A GiB of zeros before Chart.yaml in a 1 MB upload: a 400 without unpacking it all."""
    make_repo("charts", format="helm")
    chart_yaml = {"web/Chart.yaml": b"apiVersion: v2\nname: web\nversion: 1.0.0\n"}
    bomb = tar_gz_bomb(1024 * 1024 * 1024, chart_yaml, zeros_name="web/zeros")
    started = time.monotonic()
    answer = upload(admin, "charts", bomb)
    assert time.monotonic() - started < 10
    assert answer.status_code == 400
    assert answer.json["error"]["message"] == (
        "the chart unpacks to more than 64 MiB (the limit is 32 times its size, at least 64 MiB)"
    )
    assert admin.get("/v1/repos/charts/packages").json["packages"] == []


def test_private_index_needs_credentials(anonymous, make_repo):
    make_repo("charts", format="helm")
    assert anonymous.get("/helm/charts/index.yaml").status_code == 401


def test_listed_by_the_cli():
    listed = subprocess.run(
        [sys.executable, "-m", "artifortress.cli", "plugins"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "artifortress-helm" in listed.stdout
    assert "helm" in listed.stdout.splitlines()[-1]
