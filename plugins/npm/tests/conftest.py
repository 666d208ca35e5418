"""Fixtures: the real npm CLI and bodies it sent for ``npm publish``."""

from __future__ import annotations

import json

import pytest
from npm_testkit import PROJECTS, Npm, Published, Request, Response, json_response, serve


@pytest.fixture(scope="session")
def npm_cli(tmp_path_factory: pytest.TempPathFactory) -> Npm:
    """An npm runner with its own home and cache for the test session."""
    root = tmp_path_factory.mktemp("npm-cli")
    (root / "home").mkdir()
    return Npm(root)


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, npm_cli: Npm) -> dict[str, Published]:
    """Run ``npm publish`` for each project against a capturing server; return the bodies."""

    def handler(request: Request) -> Response:
        if request.method == "PUT":
            return json_response(201, {"ok": True})
        return json_response(404, {"error": "not found"})

    result: dict[str, Published] = {}
    with serve(handler) as (registry, log):
        for name, spec in PROJECTS.items():
            project = tmp_path_factory.mktemp("project")
            (project / "package.json").write_text(json.dumps(spec["package"]))
            files = spec["files"]
            assert isinstance(files, dict)
            for filename, text in files.items():
                (project / filename).write_text(text)
            args = spec["publish_args"]
            assert isinstance(args, list)
            npm_cli.run(["publish", *args], project, registry)
            put = [r for r in log if r.method == "PUT"][-1]
            package = spec["package"]
            assert isinstance(package, dict)
            result[name] = Published(
                name=name,
                version=package["version"],
                url_path=put.path,
                body=put.body,
                project=project,
                headers=dict(put.headers.items()),
            )
    return result
