"""The import contract: which module may import which.

A plugin imports only ``artifortress.plugin``, the versioned public API (its
tests may also use the kit, ``artifortress.testing``): every other module of
the core may change in any release.  ``artifortress plugins check PATH`` and
:func:`artifortress.testing.contract.assert_plugin_imports_clean` run that
check on a plugin's source tree.

The core (checked by ``make lint``, ``tools/check_imports.py``) imports no
plugin; below the facade nothing imports ``artifortress.plugin`` but the plugin
manager (which reads the API version); only the app factory imports the
composition (``artifortress.web``: route table, OpenAPI, plugin mounting); and
no modules import each other, however indirectly.  An import under
``if TYPE_CHECKING:`` or inside a function counts: it hides a cycle from the
interpreter, not from the reader.

Pure :mod:`ast`: nothing checked is imported, so a tree that fails to import is
checked all the same.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import os
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

CORE = "artifortress"
PUBLIC_API = "artifortress.plugin"
TEST_KIT = "artifortress.testing"
PLUGIN_MANAGER = "artifortress.plugin_manager"
#: The core's package folder, which says which dotted names are modules of the core.
CORE_DIR = Path(__file__).resolve().parent

#: An import between two modules of the core: (importer, imported).
Edge = tuple[str, str]

#: Folders of a plugin's tree that hold no source of its own.
_NOT_SOURCE = {"__pycache__", "node_modules", "site-packages"}


@dataclasses.dataclass(frozen=True)
class Import:
    """One import statement's target: the deepest module of the core it names, if any."""

    path: Path
    line: int
    module: str
    #: What ``from module import ...`` takes (``()`` for ``import module`` or a submodule).
    names: tuple[str, ...]
    #: Where the statement sits: ``""`` at module level, else why it is easy to miss.
    context: str

    @property
    def where(self) -> str:
        return f"{_shown(self.path)}:{self.line}"

    @property
    def qualifier(self) -> str:
        return f" ({self.context})" if self.context else ""


@dataclasses.dataclass(frozen=True)
class PluginCheck:
    """What :func:`check_plugin` found: how many files it read, and each forbidden import."""

    files: int
    problems: list[str]


# -- reading imports ---------------------------------------------------------------------------


def module_names(package_dir: Path) -> dict[str, Path]:
    """Every module of the package in *package_dir* by dotted name (a/b/__init__.py: ``a.b``)."""
    modules: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(path: Path, importer: str | None, modules: Collection[str]) -> Iterator[Import]:
    """The imports of one file; relative ones resolve only when the *importer* is named."""
    collector = _ImportCollector()
    collector.visit(ast.parse(path.read_bytes(), filename=str(path)))
    for node, context in collector.found:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, _deepest(alias.name, modules), (), context)
            continue
        base = _absolute(node, importer, is_package=path.name == "__init__.py")
        if base is None:
            continue
        names = [alias.name for alias in node.names]
        submodules = [name for name in names if f"{base}.{name}" in modules]
        for name in submodules:
            yield Import(path, node.lineno, f"{base}.{name}", (), context)
        others = tuple(name for name in names if name not in submodules)
        if others:
            yield Import(path, node.lineno, _deepest(base, modules), others, context)


class _ImportCollector(ast.NodeVisitor):
    """Every import statement of a file, with the block that may hide it."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, str]] = []
        self._contexts: list[str] = []

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.found.append((node, self._contexts[-1] if self._contexts else ""))

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._visit_within("inside a function", node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self._visit_within("under TYPE_CHECKING", node.body)
        for statement in node.orelse:
            self.visit(statement)

    def _visit_within(self, context: str, body: list[ast.stmt]) -> None:
        self._contexts.append(context)
        for statement in body:
            self.visit(statement)
        self._contexts.pop()


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _absolute(node: ast.ImportFrom, importer: str | None, *, is_package: bool) -> str | None:
    """The dotted module ``from ... import`` reads from (``None``: relative, importer unknown)."""
    if node.level == 0:
        return node.module or ""
    if importer is None:
        return None
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = ".".join(package[: len(package) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _deepest(name: str, modules: Collection[str]) -> str:
    """*name*, or the longest prefix of it that is a known module (``a.b.Name`` -> ``a.b``)."""
    candidate = name
    while candidate and candidate not in modules:
        candidate = candidate.rpartition(".")[0]
    return candidate or name


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _shown(path: Path) -> str:
    """*path* relative to the working folder when under it, as a reader would type it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- a plugin's tree ---------------------------------------------------------------------------


def check_plugin(root: Path) -> PluginCheck:
    """Each import under *root* (a plugin's source tree, or one file) that a plugin may not make."""
    modules = module_names(CORE_DIR)
    offered = public_api_names()
    files = list(python_files(root))
    problems: list[str] = []
    for path in files:
        in_tests = is_test_file(path.relative_to(root) if path != root else Path(path.name))
        try:
            found = list(imports_of(path, None, modules))
        except SyntaxError as exc:
            problems.append(f"{_shown(path)}:{exc.lineno}: not valid Python: {exc.msg}")
            continue
        problems += [
            f"{imp.where}: {_plugin_advice(imp, offered, in_tests)}"
            for imp in found
            if _within(imp.module, CORE) and not _plugin_may_import(imp.module, in_tests)
        ]
    return PluginCheck(len(files), problems)


def python_files(root: Path) -> Iterator[Path]:
    """The ``.py`` files of a source tree, without virtual environments and hidden folders."""
    if root.is_file():
        yield root
        return
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if not name.startswith(".")
            and name not in _NOT_SOURCE
            and not (Path(folder, name) / "pyvenv.cfg").exists()
        )
        yield from (Path(folder, name) for name in sorted(files) if name.endswith(".py"))


def is_test_file(relative: Path) -> bool:
    """A test module or its support: under tests/ or test/, test_*.py, *_test.py, conftest.py."""
    name = relative.name
    in_test_folder = any(part in ("tests", "test") for part in relative.parts[:-1])
    return (
        in_test_folder
        or name.startswith("test_")
        or name.endswith("_test.py")
        or (name == "conftest.py")
    )


def public_api_names() -> frozenset[str]:
    """The names ``artifortress.plugin`` exports (its ``__all__``), read from its source."""
    tree = ast.parse((CORE_DIR / "plugin" / "__init__.py").read_bytes())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()


def _plugin_may_import(module: str, in_tests: bool) -> bool:
    return _within(module, PUBLIC_API) or (in_tests and _within(module, TEST_KIT))


def _plugin_advice(imp: Import, offered: Collection[str], in_tests: bool) -> str:
    """What is wrong with *imp*, and what to do instead."""
    head = f"imports {imp.module}{imp.qualifier}; a plugin may import only {PUBLIC_API}"
    if _within(imp.module, TEST_KIT):
        return f"{head} ({TEST_KIT} only in tests: tests/, test_*.py, conftest.py)"
    if in_tests:
        head += f" (and, in tests, {TEST_KIT})"
    if imp.names and all(name in offered for name in imp.names):
        return f"{head}: use 'from {PUBLIC_API} import {', '.join(imp.names)}'"
    missing = ", ".join(name for name in imp.names if name not in offered) or imp.module
    return (
        f"{head}: {missing} is not part of the plugin API "
        f"(ask for it to be added to {PUBLIC_API}, or keep a copy of your own)"
    )


# -- the core ----------------------------------------------------------------------------------


#: The composition of the application (route table, OpenAPI, plugin route mounting), which
#: only the app factory imports: the planes and the HTTP toolkit (``artifortress.http``)
#: sit below it.
COMPOSITION = "artifortress.web"
APP_FACTORY = "artifortress.app"


def check_core(package_dir: Path = CORE_DIR, allowed: Collection[Edge] = ()) -> list[str]:
    """Each import of the core that breaks its contract, and each *allowed* edge not needed.

    *allowed* excuses imports between two modules of the core while they are being
    removed; an entry that no longer occurs, or no longer breaks a rule, is reported
    so that the list only shrinks.
    """
    modules = module_names(package_dir)
    imports = {
        name: list(imports_of(path, name, modules)) for name, path in sorted(modules.items())
    }
    edges: dict[Edge, list[Import]] = {}
    for importer, found in imports.items():
        for imp in found:
            if imp.module in modules and imp.module != importer:
                edges.setdefault((importer, imp.module), []).append(imp)
    plugins = [imp for found in imports.values() for imp in found if _is_plugin(imp.module)]
    return [
        *(f"{imp.where}: the core imports the plugin {imp.module}" for imp in plugins),
        *_layer_problems(edges, allowed),
        *_cycle_problems(edges, allowed),
        *_stale_entries(edges, allowed),
    ]


def _is_plugin(module: str) -> bool:
    return module.startswith("artifortress_")


def _layer_problem(edge: Edge) -> str | None:
    """Why *edge* points upwards, or ``None``."""
    importer, imported = edge
    if _within(imported, PUBLIC_API) and not _may_import_facade(importer):
        return (
            f"imports the plugin facade {imported}, the top of the core that only plugins "
            "import: import what it needs from the module that defines it"
        )
    if _within(imported, COMPOSITION) and not _may_import_composition(importer):
        return (
            f"imports the composition {imported} (route table, OpenAPI, plugin mounting), "
            f"which only {APP_FACTORY} imports: depend on the HTTP toolkit "
            "(artifortress.http) or a plane instead"
        )
    return None


def _may_import_facade(importer: str) -> bool:
    return _within(importer, PUBLIC_API) or importer == PLUGIN_MANAGER


def _may_import_composition(importer: str) -> bool:
    return _within(importer, COMPOSITION) or importer == APP_FACTORY


def _layer_problems(edges: Mapping[Edge, list[Import]], allowed: Collection[Edge]) -> Iterator[str]:
    for edge, found in edges.items():
        problem = _layer_problem(edge)
        if problem and edge not in allowed:
            yield from (f"{imp.where}: {edge[0]}{imp.qualifier} {problem}" for imp in found)


def _cycle_problems(edges: Mapping[Edge, list[Import]], allowed: Collection[Edge]) -> Iterator[str]:
    graph = _graph(edge for edge in edges if edge not in allowed)
    for component in strongly_connected(graph):
        cycle = _shortest_cycle(min(component), graph, component)
        steps = list(itertools.pairwise(cycle))
        first = edges[steps[0]][0]
        how = "; ".join(
            f"{edges[step][0].where} imports {step[1]}{edges[step][0].qualifier}" for step in steps
        )
        yield (
            f"{first.where}: import cycle {' -> '.join(cycle)} ({how}): move what they share "
            "into a module below them, or pass it in"
        )


def _stale_entries(edges: Mapping[Edge, list[Import]], allowed: Collection[Edge]) -> Iterator[str]:
    in_cycles = {
        node: index
        for index, component in enumerate(strongly_connected(_graph(edges)))
        for node in component
    }
    for edge in sorted(allowed):
        importer, imported = edge
        if edge not in edges:
            yield f"allowed import {importer} -> {imported} no longer occurs: remove the entry"
        elif _layer_problem(edge) is None and (
            importer not in in_cycles or in_cycles.get(imported) != in_cycles[importer]
        ):
            yield (
                f"allowed import {importer} -> {imported} breaks no rule any more "
                "(no layer, no cycle): remove the entry"
            )


def _graph(edges: Iterator[Edge] | Collection[Edge]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for importer, imported in edges:
        graph.setdefault(importer, set()).add(imported)
        graph.setdefault(imported, set())
    return graph


def strongly_connected(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """The groups of two or more modules that all reach each other (Tarjan), sorted."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowest[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                lowest[node] = min(lowest[node], lowest[successor])
            elif successor in on_stack:
                lowest[node] = min(lowest[node], index[successor])
        if lowest[node] == index[node]:
            component: list[str] = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _shortest_cycle(
    start: str, graph: Mapping[str, Collection[str]], component: Collection[str]
) -> list[str]:
    """The shortest path from *start* back to itself inside *component* (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for successor in sorted(graph[node]):
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if successor in component and successor not in came_from:
                    came_from[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{start} is in no cycle")  # a component's node always is
