"""The plugin manager: hook specifications plus every installed plugin.

Built-in formats are separate distributions found through the same
``artifortress.plugins`` entry-point group as third-party ones.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping

import pluggy

from artifortress import hookspecs
from artifortress.errors import ConfigurationError
from artifortress.formats import FormatSpec
from artifortress.plugin.api_version import API_VERSION, InvalidApiRange, api_range_admits
from artifortress.policy.builtin import register_builtin_policies

ENTRY_POINT_GROUP = "artifortress.plugins"
API_RANGE_ATTRIBUTE = "ARTIFORTRESS_API"  # module-level in a plugin: ">=1.0,<2"


def make_plugin_manager(
    extra_plugins: Iterable[object] = (), *, entry_points: bool = True
) -> pluggy.PluginManager:
    """Load the entry-point plugins (and *extra_plugins*, for tests) and check them."""
    pm = pluggy.PluginManager("artifortress")
    pm.add_hookspecs(hookspecs)
    register_builtin_policies(pm)  # built-in policies go through the same hook as others
    if entry_points:
        # Before registering: a plugin written for another API may implement hooks
        # this core lacks, and "needs API 2" tells its operator more than a hook error.
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            check_api_range(entry_point.load(), _entry_point_label(entry_point))
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        check_api_range(plugin, repr(getattr(plugin, "__name__", plugin)))
        pm.register(plugin)
    # A misspelled hook name fails here, loudly, instead of silently never running.
    pm.check_pending()
    return pm


def check_api_range(plugin: object, label: str) -> None:
    """Stop start-up if *plugin* declares an API range that excludes :data:`API_VERSION`.

    A plugin that declares nothing is assumed to fit, as every plugin before 1.0.0 did.
    """
    api_range = getattr(plugin, API_RANGE_ATTRIBUTE, None)
    if api_range is None:
        return
    if not isinstance(api_range, str):
        raise ConfigurationError(
            f"plugin {label} declares {API_RANGE_ATTRIBUTE} = {api_range!r}; "
            "it must be a string such as '>=1.0,<2'"
        )
    try:
        admitted = api_range_admits(api_range)
    except InvalidApiRange as exc:
        raise ConfigurationError(f"plugin {label} declares {API_RANGE_ATTRIBUTE} {exc}") from exc
    if not admitted:
        raise ConfigurationError(
            f"plugin {label} needs the Artifortress plugin API {api_range!r}, but this "
            f"Artifortress provides API {API_VERSION}: upgrade Artifortress to a release "
            f"whose API fits, or install a version of the plugin that supports API {API_VERSION}"
        )


def _entry_point_label(entry_point: importlib.metadata.EntryPoint) -> str:
    """``'helm' (artifortress-helm 0.1.0)``: what an operator finds in ``pip list``."""
    dist = entry_point.dist
    where = f" ({dist.name} {dist.version})" if dist is not None else ""
    return f"{entry_point.name!r}{where}"


def collect_formats(pm: pluggy.PluginManager) -> Mapping[str, FormatSpec]:
    """All declared formats by name; a name (or URL segment) declared twice stops start-up."""
    formats: dict[str, FormatSpec] = {}
    segments: set[str] = set()
    for specs in pm.hook.artifortress_formats():
        for spec in specs:
            if spec.name in formats:
                raise ConfigurationError(f"two plugins declare the format {spec.name!r}")
            if spec.segment in segments or spec.name in segments:
                raise ConfigurationError(f"two formats mount their routes at /{spec.segment}/")
            formats[spec.name] = spec
            segments.update({spec.name, spec.segment})
    return formats


def describe_plugins(pm: pluggy.PluginManager) -> list[tuple[str, str]]:
    """``(distribution or plugin name, version)`` of every registered plugin."""
    rows = []
    for plugin, dist in pm.list_plugin_distinfo():
        rows.append((f"{dist.project_name} ({pm.get_name(plugin)})", dist.version))
    seen = {pm.get_name(p) for p, _ in pm.list_plugin_distinfo()}
    rows.extend((name or "?", "-") for name, _plugin in pm.list_name_plugin() if name not in seen)
    return rows
