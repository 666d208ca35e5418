"""The pure protocol rules: escaping, module paths, semantic version order, @latest, URLs."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from artifortress_goproxy import modpath, semver
from artifortress_goproxy.errors import GoProxyError
from artifortress_goproxy.protocol import GoRequest, info, parse_url

PSEUDO = "v0.0.0-20191109021931-daa7c04131f5"


@pytest.mark.parametrize(
    ("plain", "escaped"),
    [
        ("github.com/Azure/azure-sdk-for-go", "github.com/!azure/azure-sdk-for-go"),
        ("example.com/hello", "example.com/hello"),
        ("v1.0.0-RC1", "v1.0.0-!r!c1"),
    ],
)
def test_case_escaping_round_trips(plain, escaped):
    assert modpath.escape(plain) == escaped
    assert modpath.unescape(escaped) == plain


@pytest.mark.parametrize("bad", ["github.com/Azure", "example.com/a!", "example.com/!1", "é.com/x"])
def test_unescaping_refuses_what_no_escaping_produces(bad):
    with pytest.raises(GoProxyError):
        modpath.unescape(bad)


@pytest.mark.parametrize(
    "path",
    ["example.com/hello", "example.com/hello/v2", "github.com/Azure/x_y.z~1a", "gopkg.in/yaml.v3"],
)
def test_valid_module_paths(path):
    assert modpath.check_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "hello",  # the first element is a domain name
        "Example.com/hello",
        "-example.com/hello",
        "example.com/hello/v1",  # no suffix for v0 and v1
        "example.com/hello/v0",
        "example.com/hello/v02",
        "example.com//hello",
        "example.com/hello/",
        "example.com/.hidden",
        "example.com/trailing.",
        "example.com/con",  # reserved on Windows
        "example.com/progra~1",
        "example.com/a b",
        "example.com/" + "x" * 255,
    ],
)
def test_invalid_module_paths(path):
    with pytest.raises(GoProxyError):
        modpath.check_path(path)


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("example.com/hello", "v0.1.0"),
        ("example.com/hello", "v1.2.3"),
        ("example.com/hello", "v2.0.0+incompatible"),
        ("example.com/hello/v2", "v2.1.0-rc.1"),
        ("gopkg.in/yaml.v3", "v3.0.1"),
    ],
)
def test_major_version_matches_the_path(path, version):
    modpath.check_major(path, semver.parse(version))


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("example.com/hello", "v2.0.0"),  # needs /v2
        ("example.com/hello/v2", "v1.0.0"),
        ("example.com/hello/v2", "v3.0.0"),
        ("example.com/hello/v2", "v2.0.0+incompatible"),
        ("example.com/hello", "v1.0.0+incompatible"),  # only v2 and above
        ("gopkg.in/yaml.v3", "v2.0.0"),
    ],
)
def test_major_version_mismatches(path, version):
    with pytest.raises(GoProxyError):
        modpath.check_major(path, semver.parse(version))


@pytest.mark.parametrize(
    "text", ["v1.2.3", "v0.0.0", "v1.2.3-rc.1", "v1.0.0-0.beta-2", "v2.0.0+incompatible", PSEUDO]
)
def test_canonical_versions(text):
    assert semver.parse(text).text == text


@pytest.mark.parametrize(
    "text", ["1.2.3", "v1.2", "v1", "v01.2.3", "v1.2.3-01", "v1.2.3-", "v1.2.3+build", "v1.2.3 "]
)
def test_non_canonical_versions_are_refused(text):
    assert not semver.is_canonical(text)
    with pytest.raises(GoProxyError):
        semver.parse(text)


def test_semantic_version_order():
    expected = [
        "v0.9.0",
        "v1.0.0-alpha",
        "v1.0.0-alpha.1",
        "v1.0.0-alpha.beta",
        "v1.0.0-beta",
        "v1.0.0-beta.2",
        "v1.0.0-beta.11",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v1.2.0",
        "v1.10.0",
        "v2.0.0+incompatible",
        "v10.0.0+incompatible",
    ]
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    assert semver.ordered([*shuffled, "latest", "v1.0"]) == expected


def test_list_leaves_out_pseudo_versions():
    assert semver.listed(["v1.0.0", PSEUDO, "v0.1.0"]) == ["v0.1.0", "v1.0.0"]


@pytest.mark.parametrize(
    ("versions", "latest"),
    [
        (["v1.0.0", "v1.1.0-rc.1", "v0.9.0"], "v1.0.0"),  # a release beats a newer pre-release
        (["v1.1.0-beta", "v1.1.0-rc.1"], "v1.1.0-rc.1"),
        (["v1.0.0", "v1.0.1-0.20191109021931-daa7c04131f5"], "v1.0.0"),
        ([PSEUDO, "v0.0.0-20200101000000-aaaaaaaaaaaa"], "v0.0.0-20200101000000-aaaaaaaaaaaa"),
        (["v0.1.0-pre", PSEUDO], "v0.1.0-pre"),
        ([], None),
    ],
)
def test_latest(versions, latest):
    assert semver.latest(versions) == latest


def test_pseudo_versions_carry_their_commit_time():
    version = semver.parse(PSEUDO)
    assert version.is_pseudo
    assert version.commit_time == dt.datetime(2019, 11, 9, 2, 19, 31, tzinfo=dt.UTC)
    assert not semver.parse("v1.0.0-rc.1").is_pseudo


def test_info_documents():
    published = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert json.loads(info("v1.0.0", published)) == {
        "Version": "v1.0.0",
        "Time": "2026-01-02T03:04:05Z",
    }
    assert json.loads(info(PSEUDO, published))["Time"] == "2019-11-09T02:19:31Z"


@pytest.mark.parametrize(
    ("tail", "parsed"),
    [
        ("example.com/hello/@v/list", GoRequest("example.com/hello", "list")),
        ("example.com/hello/@latest", GoRequest("example.com/hello", "latest")),
        (
            "example.com/!hello/@v/v1.0.0-!r!c1.info",
            GoRequest("example.com/Hello", "info", "v1.0.0-RC1"),
        ),
        ("example.com/hello/v2/@v/v2.0.0.mod", GoRequest("example.com/hello/v2", "mod", "v2.0.0")),
        (
            "example.com/hello/@v/v2.0.0+incompatible.zip",
            GoRequest("example.com/hello", "zip", "v2.0.0+incompatible"),
        ),
    ],
)
def test_urls(tail, parsed):
    assert parse_url(tail) == parsed


@pytest.mark.parametrize(
    "tail", ["example.com/hello", "example.com/hello/@v/v1.0.0.tar", "example.com/hello/@v/.zip"]
)
def test_urls_of_no_answer_are_404(tail):
    with pytest.raises(GoProxyError) as refused:
        parse_url(tail)
    assert refused.value.status == 404


def test_urls_with_bad_paths_are_400():
    with pytest.raises(GoProxyError) as refused:
        parse_url("example.com/Hello/@v/list")
    assert refused.value.status == 400
