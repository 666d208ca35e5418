"""``artifortress plugins new``: a working plugin project to start a format from.

The templates (package data under ``templates/``) are a distribution with
the ``artifortress.plugins`` entry point, a plugin module declaring the
format and one route that publishes and serves files through the Gateway,
and tests using the kit; the project passes its own tests and
``artifortress plugins check`` as written.
"""

from __future__ import annotations

import dataclasses
import string
from importlib import resources
from pathlib import Path

from artifortress.errors import Conflict, ValidationFailed
from artifortress.formats import FORMAT_NAME, RESERVED_NAMES


@dataclasses.dataclass(frozen=True)
class PluginNames:
    """The names a plugin of format *format* goes by."""

    format: str

    @property
    def distribution(self) -> str:
        return f"artifortress-{self.format}"

    @property
    def package(self) -> str:
        return f"artifortress_{self.format}"

    def files(self) -> dict[str, str]:
        """``{path in the project: template}``."""
        return {
            "pyproject.toml": "pyproject.toml.tmpl",
            "README.md": "README.md.tmpl",
            f"{self.package}/__init__.py": "__init__.py.tmpl",
            f"{self.package}/plugin.py": "plugin.py.tmpl",
            f"{self.package}/py.typed": "py.typed.tmpl",
            f"tests/test_{self.format}.py": "test_plugin.py.tmpl",
        }


def plugin_names(name: str) -> PluginNames:
    """The names of format *name*; 400 unless it is a format name a plugin may declare."""
    if not FORMAT_NAME.match(name) or name in RESERVED_NAMES:
        raise ValidationFailed(
            f"{name!r} is not a format name: lower-case letters and digits, starting with a "
            f"letter, 2 to 32 characters, none of {', '.join(sorted(RESERVED_NAMES))}"
        )
    return PluginNames(name)


def new_plugin(name: str, target: Path) -> list[Path]:
    """Write the project of format *name* into the new folder *target*; the files written.

    An existing *target* is refused (409), whatever it holds: nothing is overwritten.
    """
    names = plugin_names(name)
    if target.exists():
        raise Conflict(f"{target} already exists; give a new folder with --dir")
    templates = resources.files(__name__).joinpath("templates")
    values = {
        "format": names.format,
        "distribution": names.distribution,
        "package": names.package,
    }
    written = []
    for path, template in names.files().items():
        text = string.Template(templates.joinpath(template).read_text()).substitute(values)
        destination = target / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text)
        written.append(destination)
    return written
