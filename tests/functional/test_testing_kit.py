"""The plugin author's kit does what docs/plugins.md ("Testing your plugin") promises."""

from __future__ import annotations

import pytest

from artifortress.plugin import hookimpl


class Counter:
    """An unpackaged plugin, registered through the ``extra_plugins`` fixture."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @hookimpl
    def artifortress_on_event(self, event):
        self.events.append(event.type)


COUNTER = Counter()


def test_bytes_are_sent_as_they_are_and_head_answers(admin, make_repo):
    make_repo("files")
    data = b'{"not": "re-encoded"}\x00'
    put = admin.put("/generic/files/tool/1.0/a.bin", data)
    assert put.status_code == 201, put.text
    assert admin.get("/generic/files/tool/1.0/a.bin").content == data
    head = admin.head("/generic/files/tool/1.0/a.bin")
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))


def test_json_bodies_are_encoded(admin):
    created = admin.post("/v1/repos", {"key": "libs", "format": "generic"})
    assert created.status_code == 201, created.text


def test_as_user_binds_roles_whatever_the_order(admin, api_factory, make_repo):
    make_repo("files")
    admin.put("/generic/files/tool/1.0/a.bin", b"a")
    reader = api_factory.as_user("reader", roles={"files": ["read"]})
    assert reader.get("/generic/files/tool/1.0/a.bin").status_code == 200
    assert reader.put("/generic/files/tool/1.1/a.bin", b"b").status_code == 403
    bindings = admin.get("/v1/repos/files/bindings").json["bindings"]
    assert bindings == [{"user": "reader", "roles": ["read"]}]


def test_a_binding_through_the_api_needs_the_user_first(admin, api_factory, make_repo):
    make_repo("files")
    assert admin.put("/v1/repos/files/bindings/late", {"roles": ["read"]}).status_code == 404
    api_factory.as_user("late")
    assert admin.put("/v1/repos/files/bindings/late", {"roles": ["read"]}).status_code == 200


def test_drain_events_indexes_for_search(admin, anonymous, make_repo, drain_events):
    make_repo("files", public=True)
    admin.put("/generic/files/tool/1.0/a.bin", b"a")
    assert anonymous.get("/v1/search?q=tool").json["total"] == 0, "not indexed yet"
    report = drain_events()
    assert report.handled >= 1
    assert report.retried == 0
    assert anonymous.get("/v1/search?q=tool").json["total"] == 1


class TestOverrides:
    """``settings_overrides`` and ``extra_plugins`` overridden for a group of tests."""

    @pytest.fixture
    def settings_overrides(self):
        return {"max_package_upload": "1KiB"}

    @pytest.fixture
    def extra_plugins(self):
        return [COUNTER]

    def test_settings_overrides(self, settings):
        assert settings.max_package_upload == 1024

    def test_extra_plugins(self, admin, make_repo, drain_events):
        make_repo("files")
        COUNTER.events.clear()
        admin.put("/generic/files/tool/1.0/a.bin", b"a")
        drain_events()
        assert "version.published" in COUNTER.events
