"""The import contract on small trees: the core's rules, a plugin's, the CLI and the kit."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from artifortress.imports_contract import check_core, check_plugin
from artifortress.testing.contract import assert_plugin_imports_clean
from artifortress.testing.server import run_cli

#: A message names a file relative to the working folder when under it.
PLUGIN_MODULE = "artifortress_tiny/plugin.py"


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def write(root: Path, files: dict[str, str]) -> Path:
    """*files* (relative path: source) under *root*, with every package's ``__init__.py``."""
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    for folder in {path.parent for path in root.rglob("*.py")}:
        if folder != root and folder.name != "tests":
            (folder / "__init__.py").touch()
    return root


def core(tmp_path: Path, files: dict[str, str]) -> Path:
    """A synthetic core: an ``artifortress`` package holding *files*."""
    return write(tmp_path, {f"artifortress/{name}": source for name, source in files.items()})


# -- the core --------------------------------------------------------------------------------


def test_a_clean_core_passes(tmp_path: Path) -> None:
    package = core(
        tmp_path,
        {
            "db/base.py": "import os\n",
            "versions/services.py": "from artifortress.db import base\n",
            "plugin/__init__.py": "from artifortress.versions.services import base\n",
            "plugin_manager.py": "from artifortress.plugin import API_VERSION\n",
            "web/routes.py": "from artifortress.versions import services\n",
            "app.py": "from artifortress.web.routes import ROUTES\n",
        },
    )
    assert check_core(package / "artifortress") == []


def test_a_cycle_is_named_with_both_imports(tmp_path: Path) -> None:
    package = core(
        tmp_path,
        {"a.py": "from artifortress import b\n", "b.py": "x = 1\nimport artifortress.a\n"},
    )
    [problem] = check_core(package / "artifortress")
    assert "import cycle artifortress.a -> artifortress.b -> artifortress.a" in problem
    assert "artifortress/a.py:1 imports artifortress.b" in problem
    assert "artifortress/b.py:2 imports artifortress.a" in problem


def test_a_cycle_through_type_checking_counts(tmp_path: Path) -> None:
    package = core(
        tmp_path,
        {
            "http/openapi.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from artifortress.http.routes import Route
            """,
            "http/routes.py": "from artifortress.http.openapi import responds\n",
        },
    )
    [problem] = check_core(package / "artifortress")
    assert "import cycle artifortress.http.openapi -> artifortress.http.routes" in problem
    assert "imports artifortress.http.routes (under TYPE_CHECKING)" in problem


def test_a_cycle_through_a_function_local_relative_import_counts(tmp_path: Path) -> None:
    package = core(
        tmp_path,
        {
            "versions/drafts.py": """\
                def publish():
                    from ..policy import services
            """,
            "policy/services.py": "from artifortress.versions.drafts import publish\n",
        },
    )
    [problem] = check_core(package / "artifortress")
    assert "artifortress.policy.services -> artifortress.versions.drafts" in problem
    assert "(inside a function)" in problem


def test_the_facade_is_imported_by_the_plugin_manager_only(tmp_path: Path) -> None:
    package = core(
        tmp_path,
        {
            "plugin/__init__.py": "from artifortress.plugin.views import RepoInfo\n",
            "plugin/views.py": "class RepoInfo: ...\n",
            "plugin_manager.py": "from artifortress.plugin import api_version\n",
            "search/indexer.py": "from artifortress.plugin.views import RepoInfo\n",
        },
    )
    [problem] = check_core(package / "artifortress")
    assert problem.startswith("artifortress/search/indexer.py:1: artifortress.search.indexer")
    assert "imports the plugin facade artifortress.plugin.views" in problem


def test_only_the_top_imports_the_composition(tmp_path: Path) -> None:
    package = core(
        tmp_path,
        {
            "web/routes.py": "ROUTES = []\n",
            "app.py": "from artifortress.web.routes import ROUTES\n",
            "http/body.py": "from artifortress.web import routes\n",
        },
    )
    [problem] = check_core(package / "artifortress")
    assert problem.startswith("artifortress/http/body.py:1: artifortress.http.body")
    assert "imports the composition artifortress.web.routes" in problem


def test_the_core_imports_no_plugin(tmp_path: Path) -> None:
    package = core(tmp_path, {"formats.py": "import artifortress_pypi\n"})
    assert check_core(package / "artifortress") == [
        "artifortress/formats.py:1: the core imports the plugin artifortress_pypi"
    ]


def test_an_allowed_edge_excuses_its_cycle_until_it_is_gone(tmp_path: Path) -> None:
    files = {"a.py": "from artifortress import b\n", "b.py": "from artifortress import a\n"}
    package = core(tmp_path, files) / "artifortress"
    allowed = {("artifortress.b", "artifortress.a")}
    assert check_core(package, allowed) == []

    (package / "b.py").write_text("")
    assert check_core(package, allowed) == [
        "allowed import artifortress.b -> artifortress.a no longer occurs: remove the entry"
    ]


def test_an_allowed_edge_that_closes_no_cycle_any_more_is_reported(tmp_path: Path) -> None:
    files = {"a.py": "import os\n", "b.py": "from artifortress import a\n"}
    package = core(tmp_path, files) / "artifortress"
    [problem] = check_core(package, {("artifortress.b", "artifortress.a")})
    assert "artifortress.b -> artifortress.a breaks no rule any more" in problem


# -- a plugin --------------------------------------------------------------------------------


def tiny_plugin(root: Path, module_source: str = "") -> Path:
    """A real, installable plugin project: pyproject, one module, one test."""
    return write(
        root,
        {
            "pyproject.toml": """\
                [project]
                name = "artifortress-tiny"
                version = "0.1.0"
                [project.entry-points."artifortress.plugins"]
                tiny = "artifortress_tiny.plugin"
            """,
            "artifortress_tiny/plugin.py": module_source
            or """\
                from artifortress.plugin import FormatSpec, hookimpl

                ARTIFORTRESS_API = ">=1.0,<2"


                @hookimpl
                def artifortress_formats() -> list[FormatSpec]:
                    return [FormatSpec(name="tiny", description="a tiny format")]
            """,
            "tests/test_tiny.py": """\
                from artifortress.testing.helpers import Api
                from artifortress_tiny import plugin
            """,
        },
    )


def test_a_plugin_may_import_the_api_and_in_its_tests_the_kit(tmp_path: Path) -> None:
    assert check_plugin(tiny_plugin(tmp_path)).problems == []


def test_a_forbidden_import_says_what_to_import_instead(tmp_path: Path) -> None:
    root = tiny_plugin(
        tmp_path,
        """\
            from artifortress.errors import NotFound
            from artifortress import plugin, settings
            from artifortress.testing.bombs import tar_gz_bomb

            def later():
                from artifortress.blobs.store import BlobStore
        """,
    )
    only = "a plugin may import only artifortress.plugin"
    ask = "(ask for it to be added to artifortress.plugin, or keep a copy of your own)"
    assert check_plugin(root).problems == [
        f"{PLUGIN_MODULE}:1: imports artifortress.errors; {only}: "
        "use 'from artifortress.plugin import NotFound'",
        f"{PLUGIN_MODULE}:2: imports artifortress.settings; {only}: "
        f"artifortress.settings is not part of the plugin API {ask}",
        f"{PLUGIN_MODULE}:3: imports artifortress.testing.bombs; {only} "
        "(artifortress.testing only in tests: tests/, test_*.py, conftest.py)",
        f"{PLUGIN_MODULE}:6: imports artifortress.blobs.store (inside a function); {only}: "
        f"BlobStore is not part of the plugin API {ask}",
    ]


def test_virtual_environments_and_hidden_folders_are_not_the_plugins_source(
    tmp_path: Path,
) -> None:
    root = tiny_plugin(tmp_path)
    forbidden = "from artifortress.db import engine\n"
    write(root, {"venv/lib/site.py": forbidden, ".tox/x.py": forbidden, "venv/pyvenv.cfg": ""})
    assert check_plugin(root).problems == []


def test_source_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    root = tiny_plugin(tmp_path, "def broken(:\n")
    assert check_plugin(root).problems == [f"{PLUGIN_MODULE}:1: not valid Python: invalid syntax"]


def test_cli_passes_a_clean_plugin_with_one_line(tmp_path: Path) -> None:
    root = tiny_plugin(tmp_path / "tiny")
    done = run_cli(["plugins", "check", str(root)], {"PATH": "/usr/bin:/bin"})
    assert done.stdout == f"OK: {root} imports only artifortress.plugin (3 files read)\n"


def test_cli_names_each_forbidden_import_and_exits_1(tmp_path: Path) -> None:
    root = tiny_plugin(tmp_path / "tiny", "from artifortress.http.body import read_json\n")
    done = run_cli(["plugins", "check", "tiny"], {"PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "tiny/artifortress_tiny/plugin.py:1: imports artifortress.http.body; a plugin may "
        "import only artifortress.plugin: use 'from artifortress.plugin import read_json'"
    ]
    assert done.stderr == "1 forbidden import in tiny\n"
    assert root.exists()


def test_cli_refuses_a_path_without_python(tmp_path: Path) -> None:
    done = run_cli(["plugins", "check", "nothing-here"], {"PATH": "/usr/bin:/bin"}, check=False)
    assert (done.returncode, done.stderr) == (1, "error: no Python file under nothing-here\n")


def test_the_kit_fails_a_test_naming_the_forbidden_imports(tmp_path: Path) -> None:
    assert_plugin_imports_clean(tiny_plugin(tmp_path / "clean"))
    dirty = tiny_plugin(tmp_path / "dirty", "from artifortress.db.engine import make_engine\n")
    with pytest.raises(pytest.fail.Exception, match=r"dirty/artifortress_tiny/plugin\.py:1: "):
        assert_plugin_imports_clean(dirty)
