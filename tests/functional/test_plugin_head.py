"""Every plugin route that answers GET answers HEAD too, though no plugin declares ``on_head``.

The core gives such resources a HEAD responder at mounting
(:func:`artifortress.web.plugin_routes.answer_head_like_get`): the GET's status
and headers, ``Content-Length`` included, and no body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import falcon.testing
import yaml

from artifortress.testing.helpers import Api
from examples.helm.tests.test_helm import chart, upload
from tests.support.routes import Operation, example_path, served_operations

#: Headers that differ between any two responses.
_PER_RESPONSE = frozenset({"date", "x-request-id"})


def _plugin_operations(app: Any, formats: Iterable[str], method: str) -> dict[str, Operation]:
    """Template -> operation of *method*, for every route under a format's prefix."""
    prefixes = tuple(f"/{format}/" for format in formats)
    return {
        op.template: op
        for op in served_operations(app)
        if op.method == method and op.template.startswith(prefixes)
    }


def _headers(result: falcon.testing.Result) -> dict[str, str]:
    return {k: v for k, v in result.headers.items() if k.lower() not in _PER_RESPONSE}


def _head_problems(api: Api, url: str) -> list[str]:
    """HEAD must answer GET's status and headers, with no body."""
    got = api.client.simulate_get(url, headers=api.headers())
    head = api.client.simulate_head(url, headers=api.headers())
    problems = []
    if head.status_code != got.status_code:
        problems.append(f"{url}: HEAD {head.status_code}, GET {got.status_code}")
    if _headers(head) != _headers(got):
        problems.append(f"{url}: HEAD headers {_headers(head)} != GET's {_headers(got)}")
    if head.content:
        problems.append(f"{url}: HEAD sent a body")
    return problems


def test_every_plugin_get_route_has_a_head_route(app, services):
    gets = _plugin_operations(app, services.formats, "GET")
    heads = _plugin_operations(app, services.formats, "HEAD")
    assert gets, "no plugin GET routes found"
    assert sorted(set(gets) - set(heads)) == []


def test_every_plugin_get_route_answers_head_as_get(app, services, admin, make_repo):
    problems: list[str] = []
    repos: dict[str, str] = {}
    for template in _plugin_operations(app, services.formats, "GET"):
        format = template.split("/")[1]
        if format not in repos:
            repos[format] = make_repo(f"{format}head", format=format)["key"]
        problems += _head_problems(admin, example_path(template, {"repo": repos[format]}))
    assert problems == []


def test_helm_head_of_the_index_and_a_chart(admin, make_repo):
    make_repo("charts", format="helm")
    data = chart("web", "1.0.0")
    assert upload(admin, "charts", data).status_code == 201
    index = admin.get("/helm/charts/index.yaml")
    url = "/helm/charts/" + yaml.safe_load(index.text)["entries"]["web"][0]["urls"][0]
    for path in ("/helm/charts/index.yaml", url):
        assert _head_problems(admin, path) == []
    head = admin.client.simulate_head(url, headers=admin.headers())
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["content-type"] == "application/gzip"
    index_head = admin.client.simulate_head("/helm/charts/index.yaml", headers=admin.headers())
    assert index_head.headers["content-length"] == str(len(index.content))
    assert index_head.headers["etag"] == index.headers["etag"]
