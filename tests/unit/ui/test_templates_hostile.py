"""Every template rendered with hostile data: whatever users name things, the page stays inert."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from artifortress.auth.principal import Principal
from artifortress.errors import NotFound
from artifortress.search.views import SearchHit, SearchResults
from artifortress.ui.assets import Assets
from artifortress.ui.queries import DeletedRow, FileRow, PackageRow, RoleRow, VersionRow
from artifortress.ui.snippets import Snippet
from artifortress.ui.templating import TEMPLATE_DIR, Templates

EVIL = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>javascript:alert(3)"
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[tuple[str, str]] = []
        self.bad_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            if name in ("href", "src", "action") and (value or "").lower().startswith("javas"):
                self.bad_urls.append(value or "")


def assert_inert(page: str) -> None:
    parser = _Scripts()
    parser.feed(page)
    # The page's one script is our own file; nothing else runs.
    assert len(parser.scripts) == 1
    assert (parser.scripts[0]["src"] or "").startswith("/ui/static/ui.")
    assert parser.handlers == []
    assert parser.bad_urls == []
    assert "<script>alert" not in page


def _view(anonymous: bool = False):
    principal = Principal(
        tenant_id=1,
        user_id=None if anonymous else 7,
        name=EVIL,
        is_admin=True,
        token_key_id="k1",
    )
    return SimpleNamespace(
        principal=principal,
        csrf="0" * 64,
        req=SimpleNamespace(path="/ui/x"),
        ui=SimpleNamespace(sign_in_links=((EVIL, "https://idp.example/?" + EVIL),)),
    )


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates(Assets())


def _repo():
    return SimpleNamespace(id=1, key="libs", format=EVIL, kind=EVIL, public=True, description=EVIL)


def _kind_fields():
    """A remote's and a virtual's form fields, as repo_kinds._form_context gives them."""
    return {
        "upstream": {"url": EVIL, "username": EVIL, "password_set": True},
        "metadata_ttl": EVIL,
        "merge_patterns": [EVIL],
        "member_slots": [EVIL, ""],
        "member_choices": [SimpleNamespace(key=EVIL, format=EVIL, kind=EVIL)],
        "may_move_upstream": True,
        "editing": True,
    }


def _version(**overrides):
    fields = {
        "id": 1,
        "version": EVIL,
        "state": "published",
        "published_at": NOW,
        "yanked": True,
        "yank_reason": EVIL,
        "deprecated": EVIL,
    }
    return VersionRow(**{**fields, **overrides})


def _package_page():
    current = _version()
    return SimpleNamespace(
        name=EVIL,
        display_name=EVIL,
        format="pypi",
        versions=[current, _version(id=2, state="quarantined")],
        current=current,
        labels={EVIL: EVIL},
        files=[FileRow(EVIL, "sha256:" + "a" * 64, 10, NOW, EVIL)],
        readme="<p>already sanitized</p>",
        summary=EVIL,
        snippets=[Snippet(EVIL, EVIL)],
        has_provenance=True,
        missing_version=None,
        verified_provenance=[EVIL],
    )


CASES = {
    "home.html": lambda: {
        "repos": [_repo()],
        "stats": {1: SimpleNamespace(packages=3, last_published=NOW)},
        "more": True,
    },
    "search.html": lambda: {
        "format": EVIL,
        "formats": [EVIL, "pypi"],
        "q": EVIL,
        "page": 2,
        "per_page": 20,
        "results": SearchResults(
            (SearchHit(EVIL, EVIL, EVIL, EVIL, EVIL, EVIL, EVIL, (EVIL,), NOW, 1.0),), 50
        ),
    },
    "repo.html": lambda: {
        "repo": _repo(),
        "rows": [PackageRow(EVIL, EVIL, EVIL, NOW, EVIL)],
        "prefix": EVIL,
        "after": EVIL,
        "next_after": EVIL,
        "members": [EVIL],
        "upstream": {"url": EVIL},
        "metadata_ttl": EVIL,
        "is_admin": True,
    },
    "package.html": lambda: {"repo": _repo(), "page": _package_page(), "can_write": True},
    "sign_in.html": lambda: {"next": EVIL, "failure": EVIL, "notice": EVIL},
    "error.html": lambda: {"error": NotFound(EVIL), "anonymous": True},
    "account.html": lambda: {
        "tokens": [
            SimpleNamespace(
                name=EVIL,
                key_id=EVIL,
                read_only=True,
                repo_scopes=[EVIL],
                expires_at=NOW,
                last_used_at=NOW,
                revoked_at=None,
            )
        ],
        "restricted": None,
        "roles": [RoleRow(EVIL, EVIL, EVIL)],
        "repos": [EVIL],
        "max_ttl": 365,
        "default_ttl": 90,
        "notice": EVIL,
        "created": SimpleNamespace(name=EVIL),
        "secret": EVIL,
        "failure": EVIL,
        "providers": [(EVIL, EVIL, False), (EVIL, EVIL, True)],
    },
    "device.html": lambda: {"user_code": EVIL},
    "quarantine.html": lambda: {
        "rows": [
            (
                SimpleNamespace(
                    id=3,
                    created_at=NOW,
                    created_by=EVIL,
                    state="pending",
                    reasons=[EVIL, {"message": EVIL}, {"policy": EVIL, "reason": EVIL}, {}],
                    decided_by=EVIL,
                    note=EVIL,
                ),
                SimpleNamespace(package=SimpleNamespace(display_name=EVIL), version=EVIL),
                _repo(),
            )
        ],
        "state": "pending",
        "states": ("pending", "released", "rejected"),
        "notice": EVIL,
    },
    "people.html": lambda: {
        "users": [
            SimpleNamespace(name=EVIL, is_admin=False, created_at=NOW, disabled_at=None),
            SimpleNamespace(name="x", is_admin=True, created_at=NOW, disabled_at=NOW),
        ],
        "groups": [(SimpleNamespace(name=EVIL), [EVIL])],
        "notice": EVIL,
        "default_ttl": 90,
        "created_for": EVIL,
        "secret": EVIL,
        "token": SimpleNamespace(expires_at=NOW),
    },
    "repo_settings.html": lambda: {
        "repo": SimpleNamespace(**{**vars(_repo()), "kind": "remote"}),
        **_kind_fields(),
        "kind_detail": {},
        "kind_failure": EVIL,
        "bindings": {EVIL: [EVIL]},
        "group_bindings": {EVIL: [EVIL]},
        "hooks": [SimpleNamespace(id=1, url=EVIL, events=[EVIL], active=False)],
        "event_types": (EVIL, "version.published"),
        "deleted": [DeletedRow(EVIL, EVIL, EVIL, NOW, EVIL)],
        "retention_days": 7.0,
        "hook_secret": EVIL,
        "new_hook": SimpleNamespace(url=EVIL),
        "roles": ("read", "write"),
        "notice": EVIL,
        "policy": {
            "max_artifact_size": 10,
            "allowed_licenses": [EVIL],
            "blocked_name_patterns": [EVIL],
            "typosquat": True,
            "typosquat_distance": None,
        },
    },
    # Both partials (_repo_upstream_fields.html, _repo_member_fields.html) render here.
    "repo_new.html": lambda: {
        "formats": [EVIL],
        "kinds": [EVIL],
        "failure": EVIL,
        "values": dict.fromkeys(("key", "format", "kind", "description", "public"), EVIL),
        **_kind_fields(),
    },
    "webhook.html": lambda: {
        "repo": _repo(),
        "hook": SimpleNamespace(url=EVIL),
        "rows": [
            SimpleNamespace(
                event_type=EVIL,
                event_id=1,
                state="failed",
                attempts=3,
                last_status=500,
                last_attempt_at=NOW,
                last_error=EVIL,
            )
        ],
    },
    "outbox.html": lambda: {
        "rows": [
            SimpleNamespace(
                id=1,
                event_type=EVIL,
                created_at=NOW,
                repo_key=EVIL,
                state="dead",
                attempts=9,
                last_error=EVIL,
            )
        ],
        "state": "dead",
        "states": ("pending", "done", "dead"),
        "notice": EVIL,
    },
    "audit.html": lambda: {
        "rows": [
            SimpleNamespace(
                at=NOW, actor=EVIL, action=EVIL, repo_key=EVIL, target=EVIL, outcome="denied"
            )
        ],
        "filters": dict.fromkeys(("actor", "action", "repo", "outcome", "since", "until"), EVIL),
        "cursor": EVIL,
        "more": {"actor": EVIL},
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("anonymous", [False, True])
def test_template_renders_hostile_data_inert(templates, name, anonymous):
    page = templates.render(name, view=_view(anonymous), **CASES[name]())
    assert_inert(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or name == "error.html"


def test_every_template_has_a_hostile_case():
    pages = {path.name for path in TEMPLATE_DIR.glob("*.html") if not path.name.startswith("_")}
    assert pages - {"base.html"} == set(CASES)  # "_" partials render inside their pages


def test_readme_html_is_the_only_unescaped_value(templates):
    page = templates.render("package.html", view=_view(), **CASES["package.html"]())
    assert "<p>already sanitized</p>" in page
