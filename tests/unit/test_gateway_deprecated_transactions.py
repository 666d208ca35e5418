"""Gateway.end_transaction() and Gateway.reading() keep working for API 1.0 plugins, and warn.

Plugins declare ``@requires(..., publishes=True)`` instead (API 1.1); the two methods go
away only in API 2.0 (docs/plugins.md, "API versions and deprecation").
"""

from __future__ import annotations

import falcon.testing
import pytest

from artifortress.db.engine import sqlite_reads_only
from artifortress.http.context import Request
from artifortress.plugin import Gateway


def gateway() -> Gateway:
    return Gateway(Request(falcon.testing.create_environ(method="POST")))


def test_end_transaction_warns_and_still_works() -> None:
    with pytest.warns(
        DeprecationWarning, match=r"end_transaction\(\) is deprecated.*publishes"
    ) as seen:
        gateway().end_transaction()  # no session open: nothing to commit
    assert seen[0].filename == __file__  # the warning names the plugin's line


def test_reading_warns_and_still_reads_only() -> None:
    deprecated = pytest.warns(DeprecationWarning, match=r"reading\(\) is deprecated.*API 2\.0\.0")
    with deprecated as seen, gateway().reading():
        assert sqlite_reads_only.get()
    assert not sqlite_reads_only.get()
    assert seen[0].filename == __file__
