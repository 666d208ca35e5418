"""Import contract: plugins import only ``artifortress.plugin``; the core imports no plugin.

Run by ``make lint``; exits non-zero naming every offending import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_API = "artifortress.plugin"


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def plugin_violations() -> Iterator[str]:
    paths = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]
    for path in sorted(paths):
        in_tests = "tests" in path.relative_to(ROOT).parts
        for line, module in imports_of(path):
            if module == "artifortress" or module.startswith("artifortress."):
                allowed = module == PUBLIC_API or module.startswith(PUBLIC_API + ".")
                # Tests may also use the plugin author's kit.
                allowed = allowed or (in_tests and module.startswith("artifortress.testing"))
                if not allowed:
                    where = f"{path.relative_to(ROOT)}:{line}"
                    yield f"{where}: plugin imports {module}; use {PUBLIC_API}"


def core_violations() -> Iterator[str]:
    for path in sorted((ROOT / "artifortress").rglob("*.py")):
        for line, module in imports_of(path):
            if module.startswith("artifortress_"):
                yield f"{path.relative_to(ROOT)}:{line}: the core imports plugin {module}"


def main() -> int:
    problems = [*plugin_violations(), *core_violations()]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
