"""The OCI plugin imports only the public API (``artifortress.plugin``), its tests also the kit."""

from __future__ import annotations

from pathlib import Path

from artifortress.testing.contract import assert_plugin_imports_clean


def test_imports_only_the_plugin_api() -> None:
    assert_plugin_imports_clean(Path(__file__).parents[1])
