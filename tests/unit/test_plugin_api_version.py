"""A plugin declaring an API range that excludes this core's API stops start-up, clearly."""

from __future__ import annotations

import types
import warnings
from pathlib import Path

import pytest

import artifortress.plugin
from artifortress import cli
from artifortress.errors import ConfigurationError
from artifortress.plugin import API_VERSION, API_VERSION_INFO
from artifortress.plugin.api_version import api_range_admits, parse_version
from artifortress.plugin_manager import describe_plugins, make_plugin_manager


def _plugin(name: str, api_range: object) -> types.ModuleType:
    """A plugin module as an entry point hands it over: module attributes, no hooks needed."""
    module = types.ModuleType(name)
    module.ARTIFORTRESS_API = api_range  # type: ignore[attr-defined]
    return module


def test_the_version_string_and_tuple_agree() -> None:
    assert parse_version(API_VERSION) == API_VERSION_INFO
    assert API_VERSION_INFO >= (1, 0, 0)


@pytest.mark.parametrize(
    ("api_range", "admitted"),
    [(">=1.0,<2", True), (">=1", True), ("==1.0.0", True), (">=1.1", False), (">=2", False)],
)
def test_ranges_are_compared_against_the_api_version(api_range: str, admitted: bool) -> None:
    assert api_range_admits(api_range, "1.0.0") is admitted


def test_a_plugin_needing_api_two_refuses_to_start_naming_what_to_do() -> None:
    with pytest.raises(ConfigurationError) as refused:
        make_plugin_manager([_plugin("needs_two", ">=2")], entry_points=False)
    message = str(refused.value)
    assert "'>=2'" in message  # the range it needs
    assert f"provides API {API_VERSION}" in message  # the API present
    assert "upgrade Artifortress" in message
    assert "version of the plugin" in message


@pytest.mark.parametrize(
    ("declared", "complaint"),
    [
        ("~=1.0", r"ARTIFORTRESS_API '~=1\.0' is not a clause"),
        ((1, 0), r"ARTIFORTRESS_API = \(1, 0\); it must be a string"),
    ],
)
def test_a_malformed_range_is_a_clear_start_up_error(declared: object, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"plugin 'odd' declares {complaint}"):
        make_plugin_manager([_plugin("odd", declared)], entry_points=False)


def test_a_fitting_range_and_no_declaration_both_load() -> None:
    fitting, silent = _plugin("fits", ">=1.0,<2"), types.ModuleType("silent")
    pm = make_plugin_manager([fitting, silent], entry_points=False)
    assert pm.is_registered(fitting)
    assert pm.is_registered(silent)


def test_the_installed_plugins_declare_a_range_that_fits() -> None:
    pm = make_plugin_manager()
    for name in ("pypi", "npm", "generic", "helm"):
        declared = getattr(pm.get_plugin(name), "ARTIFORTRESS_API", None)
        assert isinstance(declared, str), name
        assert api_range_admits(declared), name
    assert describe_plugins(pm)


def _install_entry_point_plugin(site: Path, api_range: str) -> None:
    """A real distribution on sys.path, found through the entry-point group like any other."""
    (site / "needs_api_two.py").write_text(f"ARTIFORTRESS_API = {api_range!r}\n")
    dist_info = site / "needs_api_two-0.3.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: needs-api-two\nVersion: 0.3\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[artifortress.plugins]\nneeds_two = needs_api_two\n"
    )


def test_the_plugins_command_names_the_plugin_its_range_and_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARTIFORTRESS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ARTIFORTRESS_CONFIG", raising=False)
    _install_entry_point_plugin(tmp_path, ">=2,<3")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert cli.main(["plugins"]) == 2
    error = capsys.readouterr().err
    assert "plugin 'needs_two' (needs-api-two 0.3) needs the Artifortress plugin API" in error
    assert f"'>=2,<3', but this Artifortress provides API {API_VERSION}" in error


def test_a_deprecated_name_still_works_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(artifortress.plugin._DEPRECATED_ALIASES, "OldGateway", "Gateway")
    with pytest.warns(DeprecationWarning, match=r"OldGateway is deprecated, use .*Gateway"):
        old = artifortress.plugin.OldGateway
    assert old is artifortress.plugin.Gateway
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            _ = artifortress.plugin.NeverExisted
