"""The real npm CLI against a registry built only from the pure modules (npm_miniregistry).

Publish (scoped, tagged, after a 409), install with an empty cache (full packuments since
npm 10.4, tarball URLs and integrity in the lockfile, bin links, the gzip bulk audit),
``npm pack <spec>`` (abbreviated packument), deprecate, dist-tag add/ls/rm, search,
unpublish of one version, and the refused re-publish of its number.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from npm_miniregistry import MiniRegistry
from npm_testkit import PROJECTS, Npm, serve


def write_project(directory: Path, package: dict[str, object], files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text(json.dumps(package))
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def install(root: Path, registry: str, spec: str) -> dict[str, dict[str, str]]:
    """Install into a fresh project with a fresh cache; return the lockfile's packages."""
    npm = Npm(root)
    (root / "home").mkdir(parents=True)
    project = write_project(
        root / "consumer",
        {"name": "consumer", "version": "1.0.0", "dependencies": {"plain-pkg": spec}},
        {},
    )
    npm.run(["install"], project, registry)
    lock = json.loads((project / "package-lock.json").read_text())
    packages: dict[str, dict[str, str]] = lock["packages"]
    assert (project / "node_modules/.bin/hello").exists()  # the bin of @acme/hello
    return packages


@pytest.mark.e2e
def test_npm_cli_against_the_pure_modules(tmp_path: Path, npm_cli: Npm) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    registry = MiniRegistry(storage)
    with serve(registry.handle) as (base, log):
        registry.base = base
        projects = {}
        for name, spec in PROJECTS.items():
            package, files, args = spec["package"], spec["files"], spec["publish_args"]
            assert isinstance(package, dict)
            assert isinstance(files, dict)
            assert isinstance(args, list)
            projects[name] = write_project(tmp_path / name.replace("/", "_"), package, files)
            npm_cli.run(["publish", *args], projects[name], base)
        assert registry.states["@acme/hello"].dist_tags == {"beta": "1.0.0", "latest": "1.0.0"}

        # A second version, refused once with 409. npm 11 (libnpmpublish 11) reports E409
        # and stops (older libnpmpublish re-read the packument and merged; the unit tests
        # cover that body); running publish again succeeds.
        plain = json.loads((projects["plain-pkg"] / "package.json").read_text())
        plain["version"] = "2.1.0"
        (projects["plain-pkg"] / "package.json").write_text(json.dumps(plain))
        registry.conflict_once.add("2.1.0")
        conflict = npm_cli.run(["publish"], projects["plain-pkg"], base, fail=True)
        assert "409 Conflict" in conflict
        assert set(registry.states["plain-pkg"].versions) == {"2.0.0"}
        npm_cli.run(["publish"], projects["plain-pkg"], base)
        assert set(registry.states["plain-pkg"].versions) == {"2.0.0", "2.1.0"}

        first = len(log)
        packages = install(tmp_path / "install1", base, "^2.0.0")
        hello_state = registry.states["@acme/hello"]
        for path, name, version in [
            ("node_modules/plain-pkg", "plain-pkg", "2.1.0"),
            ("node_modules/@acme/hello", "@acme/hello", "1.0.0"),
        ]:
            record = registry.states[name].versions[version]
            short = name.split("/")[-1]
            assert packages[path]["version"] == version
            assert packages[path]["resolved"] == f"{base}{name}/-/{short}-{version}.tgz"
            assert packages[path]["integrity"] == record.integrity
        assert hello_state.versions["1.0.0"].has_install_script
        assert packages["node_modules/@acme/hello"].get("hasInstallScript") is True
        full = [r for r in log[first:] if r.method == "GET" and "tgz" not in r.path]
        assert {r.headers.get("Accept") for r in full} == {"application/json"}  # npm >= 10.4

        audits = [r for r in log[first:] if r.path.endswith("/advisories/bulk")]
        assert audits
        assert audits[0].headers.get("Content-Encoding") == "gzip"

        # pacote's manifest() (npm pack <spec>) reads the abbreviated document, then checks
        # the tarball against its integrity.
        first = len(log)
        packed = tmp_path / "packed"
        packed.mkdir()
        npm_cli.run(["pack", "@acme/hello@^1.0.0"], packed, base)
        corgi = [r for r in log[first:] if r.method == "GET" and "tgz" not in r.path]
        assert corgi
        assert all("vnd.npm.install-v1+json" in (r.headers.get("Accept") or "") for r in corgi)
        stored = storage / "@acme__hello-1.0.0.tgz"
        assert (packed / "acme-hello-1.0.0.tgz").read_bytes() == stored.read_bytes()

        npm_cli.run(["deprecate", "@acme/hello@1.0.0", "use something else"], tmp_path, base)
        assert registry.states["@acme/hello"].versions["1.0.0"].deprecated == "use something else"
        view = json.loads(npm_cli.run(["view", "@acme/hello", "--json"], tmp_path, base))
        assert view["deprecated"] == "use something else"
        npm_cli.run(["deprecate", "@acme/hello@1.0.0", ""], tmp_path, base)
        assert registry.states["@acme/hello"].versions["1.0.0"].deprecated is None

        npm_cli.run(["dist-tag", "add", "plain-pkg@2.0.0", "stable"], tmp_path, base)
        listed = npm_cli.run(["dist-tag", "ls", "plain-pkg"], tmp_path, base)
        assert "stable: 2.0.0" in listed
        assert "latest: 2.1.0" in listed
        npm_cli.run(["dist-tag", "rm", "plain-pkg", "stable"], tmp_path, base)
        assert registry.states["plain-pkg"].dist_tags == {"latest": "2.1.0"}

        found = json.loads(npm_cli.run(["search", "--json", "acme"], tmp_path, base))
        assert [hit["name"] for hit in found] == ["@acme/hello"]

        npm_cli.run(["unpublish", "plain-pkg@2.1.0"], tmp_path, base)
        state = registry.states["plain-pkg"]
        assert set(state.versions) == {"2.0.0"}
        assert set(state.unpublished) == {"2.1.0"}
        assert state.dist_tags == {"latest": "2.0.0"}
        full = json.loads(registry.built["plain-pkg"].full.body)
        assert "2.1.0" in full["time"]
        assert "2.1.0" not in full["versions"]

        refused = npm_cli.run(["publish"], projects["plain-pkg"], base, fail=True)
        assert "cannot publish over the previously published versions: 2.1.0" in refused

        packages = install(tmp_path / "install2", base, "^2.0.0")
        assert packages["node_modules/plain-pkg"]["version"] == "2.0.0"
