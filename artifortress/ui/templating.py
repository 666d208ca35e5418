"""The Jinja environment of the pages: autoescaped, strict about undefined names."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from artifortress.ui import formatting
from artifortress.ui.assets import Assets

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_URL = "/ui/static/"


class Templates:
    def __init__(self, assets: Assets, folder: Path = TEMPLATE_DIR) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            autoescape=True,  # every template, whatever its name
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.globals["asset"] = lambda name: STATIC_URL + assets.url_name(name)
        self._env.filters.update(
            size=formatting.size,
            when=formatting.when,
            iso=formatting.iso,
            hex=formatting.hex_digest,
            urlpart=_url_part,
            urlseg=lambda value: quote(value, safe=""),
        )

    def render(self, name: str, **context: Any) -> str:
        return self._env.get_template(name).render(**context)


def _url_part(value: str) -> str:
    """A value inside a URL path (a package name may hold ``/`` and ``@``: kept readable)."""
    return quote(value, safe="/@")
