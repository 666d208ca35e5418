"""Every hook a plugin may implement, typed and documented.

Hook names start with ``artifortress_``.  Hooks gain new optional arguments
instead of changing existing ones, because pluggy lets an implementation
accept fewer arguments than the specification names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from artifortress.formats import FormatSpec, PluginRoute

hookspec = pluggy.HookspecMarker("artifortress")


@hookspec
def artifortress_formats() -> Sequence[FormatSpec]:
    """Declare the package formats this plugin provides.

    Called once at start-up.  Returns the plugin's :class:`FormatSpec` objects;
    the results of all plugins are concatenated.  Two plugins declaring the
    same format name is a start-up error.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def artifortress_normalize_name(format: str, name: str) -> str | None:
    """Normalize a package name of *format* (e.g. PEP 503 for ``pypi``).

    Called whenever a package name enters the core (draft creation, lookups).
    Return the normalized name, or ``None`` if *format* is not yours; the first
    non-``None`` answer wins.  Without an answer the name is used unchanged.
    A plugin may raise :class:`artifortress.plugin.ValidationFailed` for names
    its format forbids.
    """
    raise NotImplementedError


@hookspec
def artifortress_routes() -> Sequence[PluginRoute]:
    """Contribute the HTTP routes of your formats.

    Called once per application at start-up.  Return :class:`PluginRoute`
    objects; each mounts at ``/{format}/{repo}{template}`` for a format some
    plugin declared.  Results of all plugins are concatenated.  A route
    outside a declared format's prefix stops start-up, so no plugin can shadow
    a core URL.  Resources are ordinary Falcon resources; declare permissions
    with :func:`artifortress.plugin.requires`.
    """
    raise NotImplementedError
