"""Two metadata updates of one package at once: both take effect, or one is refused (409).

An update is checked in a reading transaction and written in another; one
committed in between must not be overwritten by changes computed without it.
"""

from __future__ import annotations

import json
import threading

import pytest
from artifortress_npm import stored
from test_npm_http import body, put, tarball


@pytest.fixture
def demo(admin, make_repo):
    """``demo`` 1.0.0, 1.0.1 and 1.0.2 (latest) in ``js``."""
    make_repo("js", format="npm")
    for version in ("1.0.0", "1.0.1", "1.0.2"):
        doc = body("demo", version, tarball("demo", version))
        assert put(admin, "demo", json.dumps(doc).encode()).status_code == 201


def put_to(api, path: str, document: dict):
    return api.client.simulate_request(
        "PUT",
        f"/npm/js/{path}",
        headers=api.headers({"Content-Type": "application/json"}),
        body=json.dumps(document).encode(),
    )


def test_an_update_committed_while_another_was_checked_is_not_overwritten(admin, demo, monkeypatch):
    fetched = admin.get("/npm/js/demo?write=true").json
    # A: npm unpublish demo@1.0.2 (latest falls back to the highest version left)
    unpublish = {k: v for k, v in fetched.items() if k != "dist-tags"}
    unpublish["versions"] = {v: m for v, m in fetched["versions"].items() if v != "1.0.2"}
    # B: latest moved to 1.0.0, committed after A read the package, before A writes
    retag = {**fetched, "dist-tags": {"latest": "1.0.0"}}
    answers = {}
    load_state = stored.load_state
    interleaved = threading.Event()

    def load_then_let_b_commit(*args, **kwargs):
        state = load_state(*args, **kwargs)
        if not interleaved.is_set():
            interleaved.set()
            other = threading.Thread(target=lambda: answers.update(b=put_to(admin, "demo", retag)))
            other.start()
            other.join(timeout=30)
        return state

    monkeypatch.setattr(stored, "load_state", load_then_let_b_commit)
    answers["a"] = put_to(admin, f"demo/-rev/{fetched['_rev']}", unpublish)
    monkeypatch.undo()

    assert answers["b"].status_code == 201, answers["b"].text
    final = admin.get("/npm/js/demo").json
    assert final["dist-tags"]["latest"] == "1.0.0", "B's change was overwritten"
    if answers["a"].status_code == 409:  # refused: npm fetches the package again and retries
        assert "changed while this update was checked" in answers["a"].json["error"]
        assert "1.0.2" in final["versions"]
    else:
        assert answers["a"].status_code == 200, answers["a"].text
        assert "1.0.2" not in final["versions"]
