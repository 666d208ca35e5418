"""docs/plugins.md documents every hook with its exact signature (and nothing stale)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from artifortress import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _hooks() -> dict[str, str]:
    found = {}
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("artifortress_"):
            signature = str(inspect.signature(function)).replace("'", "")
            found[name] = f"{name}{signature}"
    return found


def test_every_hook_is_documented_with_its_signature():
    text = DOC.read_text()
    missing = [sig for sig in _hooks().values() if f"### `{sig}`" not in text]
    assert not missing, f"docs/plugins.md lacks these hook headings: {missing}"


def test_the_guide_names_no_hook_that_does_not_exist():
    documented = set(re.findall(r"### `(artifortress_\w+)\(", DOC.read_text()))
    assert documented == set(_hooks())
