"""The import contract as a test: a plugin imports only ``artifortress.plugin``.

Call :func:`assert_plugin_imports_clean` from a test of your plugin, so that a
forbidden import fails your suite before a release of Artifortress breaks it::

    from pathlib import Path

    from artifortress.testing.contract import assert_plugin_imports_clean


    def test_imports_only_the_plugin_api() -> None:
        assert_plugin_imports_clean(Path(__file__).parents[1])

It is the check ``artifortress plugins check PATH`` runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artifortress.imports_contract import PUBLIC_API, check_plugin


def assert_plugin_imports_clean(path: str | os.PathLike[str]) -> None:
    """Fail the calling test naming each import under *path* that a plugin may not make.

    *path* is the plugin's source folder (or one file); its tests may also
    import ``artifortress.testing``.  A folder without a Python file fails too:
    the check would pass for a wrong path.
    """
    found = check_plugin(Path(path))
    if found.problems:
        pytest.fail(
            f"a plugin may import only {PUBLIC_API}:\n" + "\n".join(found.problems), pytrace=False
        )
    if not found.files:
        pytest.fail(f"no Python file under {path}", pytrace=False)
