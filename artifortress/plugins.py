"""The plugin manager: hook specifications plus every installed plugin.

Built-in formats are separate distributions found through the same
``artifortress.plugins`` entry-point group as third-party ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pluggy

from artifortress import hookspecs
from artifortress.errors import ConfigurationError
from artifortress.formats import FormatSpec
from artifortress.policy.builtin import register_builtin_policies

ENTRY_POINT_GROUP = "artifortress.plugins"


def make_plugin_manager(
    extra_plugins: Iterable[object] = (), *, entry_points: bool = True
) -> pluggy.PluginManager:
    """Load the entry-point plugins (and *extra_plugins*, for tests) and check them."""
    pm = pluggy.PluginManager("artifortress")
    pm.add_hookspecs(hookspecs)
    register_builtin_policies(pm)  # built-in policies go through the same hook as others
    if entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        pm.register(plugin)
    # A misspelled hook name fails here, loudly, instead of silently never running.
    pm.check_pending()
    return pm


def collect_formats(pm: pluggy.PluginManager) -> Mapping[str, FormatSpec]:
    """All declared formats by name; a name declared twice stops start-up."""
    formats: dict[str, FormatSpec] = {}
    for specs in pm.hook.artifortress_formats():
        for spec in specs:
            if spec.name in formats:
                raise ConfigurationError(f"two plugins declare the format {spec.name!r}")
            formats[spec.name] = spec
    return formats


def describe_plugins(pm: pluggy.PluginManager) -> list[tuple[str, str]]:
    """``(distribution or plugin name, version)`` of every registered plugin."""
    rows = []
    for plugin, dist in pm.list_plugin_distinfo():
        rows.append((f"{dist.project_name} ({pm.get_name(plugin)})", dist.version))
    seen = {pm.get_name(p) for p, _ in pm.list_plugin_distinfo()}
    rows.extend((name or "?", "-") for name, _plugin in pm.list_name_plugin() if name not in seen)
    return rows
