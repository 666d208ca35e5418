"""A format's routes under a segment of its own choosing, and routes of the whole format."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from artifortress import hookimpl
from artifortress.errors import ConfigurationError
from artifortress.formats import FormatSpec, PluginRoute, format_at
from artifortress.plugin_manager import collect_formats, make_plugin_manager
from artifortress.web.plugin_routes import plugin_routes


class Toy:
    """A format plugin declaring the given formats and routes."""

    def __init__(self, formats: Sequence[FormatSpec], routes: Sequence[PluginRoute] = ()) -> None:
        self.formats, self.routes = formats, routes

    @hookimpl
    def artifortress_formats(self) -> Sequence[FormatSpec]:
        return self.formats

    @hookimpl
    def artifortress_routes(self) -> Sequence[PluginRoute]:
        return self.routes


def test_a_mount_replaces_the_name_in_paths_and_lookups() -> None:
    spec = FormatSpec("box", mount="v9")
    assert spec.segment == "v9"
    repo_route = PluginRoute("box", "/{rest:path}", object())
    assert repo_route.path_under(spec.segment) == "/v9/{repo}/{rest:path}"
    whole = PluginRoute("box", "/_list", object(), per_repo=False)
    assert whole.path_under(spec.segment) == "/v9/_list"
    formats = {"box": spec, "plain": FormatSpec("plain")}
    assert format_at("v9", formats) is spec
    assert format_at("box", formats) is None  # the name is not the segment any more
    assert format_at("plain", formats) is formats["plain"]


@pytest.mark.parametrize("mount", ["v1", "healthz", "V2", "a", "x/y"])
def test_a_mount_the_core_owns_or_no_format_name_could_be_is_refused(mount: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        FormatSpec("box", mount=mount)


@pytest.mark.parametrize(
    "formats",
    [
        [FormatSpec("box", mount="v9"), FormatSpec("crate", mount="v9")],
        [FormatSpec("box", mount="crate"), FormatSpec("crate")],
        [FormatSpec("crate"), FormatSpec("box", mount="crate")],
    ],
)
def test_two_formats_on_one_segment_stop_start_up(formats: list[FormatSpec]) -> None:
    pm = make_plugin_manager([Toy(formats)], entry_points=False)
    with pytest.raises(ConfigurationError, match="mount their routes"):
        collect_formats(pm)


@pytest.mark.parametrize("template", ["/{anything}", "/catalog", "/v2/x", "/0abc"])
def test_a_route_of_the_whole_format_cannot_hide_a_repository(template: str) -> None:
    route = PluginRoute("box", template, object(), per_repo=False)
    pm = make_plugin_manager([Toy([FormatSpec("box")], [route])], entry_points=False)
    with pytest.raises(ConfigurationError, match="no repository key can be"):
        plugin_routes(pm, collect_formats(pm))


@pytest.mark.parametrize("template", ["/", "/_catalog", "/_token/{x}"])
def test_routes_of_the_whole_format_under_non_key_segments_mount(template: str) -> None:
    route = PluginRoute("box", template, object(), per_repo=False)
    pm = make_plugin_manager([Toy([FormatSpec("box")], [route])], entry_points=False)
    assert plugin_routes(pm, collect_formats(pm)) == [route]
