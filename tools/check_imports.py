"""Import contract of this repository (``make lint``): see artifortress/imports_contract.py.

Plugins and examples import only ``artifortress.plugin`` (their tests also
``artifortress.testing``); the core imports no plugin, has no import cycles and
no upward imports.  Exits non-zero naming every offending import.
"""

from __future__ import annotations

import sys
from pathlib import Path

from artifortress.imports_contract import Edge, check_core, check_plugin

ROOT = Path(__file__).resolve().parent.parent

#: Imports of the core that break the contract and are being removed right now (issue 14).
#: The check fails on an entry that no longer occurs or no longer breaks a rule, so this
#: list only shrinks: delete an entry in the commit that removes its import.
ALLOWED: set[Edge] = set()


def main() -> int:
    problems = [
        *check_plugin(ROOT / "plugins").problems,
        *check_plugin(ROOT / "examples").problems,
        *check_core(ROOT / "artifortress", ALLOWED),
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
