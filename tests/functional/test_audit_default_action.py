"""A plugin responder that needs more than ``read`` is audited on refusal, action named or not.

Unnamed, the action is ``<format>.<permission>``.
"""

from __future__ import annotations

import falcon
import pytest

from artifortress.plugin import FormatSpec, Permission, PluginRoute, hookimpl, requires
from tests.functional.control_plane.helpers import audit_rows


class ForgetfulResource:
    """A third party's write and admin routes that name no audit action."""

    @requires(Permission.WRITE)
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        resp.media = {"written": True}

    @requires(Permission.ADMIN)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        resp.media = {"dropped": True}

    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        resp.media = {"read": True}


class ForgetfulFormat:
    @hookimpl
    def artifortress_formats(self) -> list[FormatSpec]:
        return [FormatSpec(name="toy", description="a format whose plugin names no actions")]

    @hookimpl
    def artifortress_routes(self) -> list[PluginRoute]:
        return [PluginRoute("toy", "/thing", ForgetfulResource())]


@pytest.fixture
def extra_plugins() -> list[object]:
    return [ForgetfulFormat()]


def test_refusals_of_unnamed_privileged_responders_are_audited(
    admin, api_factory, make_repo, services
):
    make_repo("box", format="toy")
    api_factory.token_for("reader")
    assert admin.put("/v1/repos/box/bindings/reader", {"roles": ["read"]}).status_code == 200
    reader = api_factory.as_user("reader")
    assert reader.put("/toy/box/thing").status_code == 403
    assert reader.delete("/toy/box/thing").status_code == 403
    assert reader.get("/toy/box/thing").status_code == 200
    denied = [(r.action, r.actor, r.repo_key) for r in audit_rows(services, outcome="denied")]
    assert denied == [("toy.write", "reader", "box"), ("toy.admin", "reader", "box")]
