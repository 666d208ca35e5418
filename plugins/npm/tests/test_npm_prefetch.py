"""A package-lock.json into what `artifortress remote prefetch` fetches (npm)."""

from __future__ import annotations

import json

import pytest
from artifortress_npm.prefetch import INSTALL_ACCEPT, package_lock

from artifortress.plugin import BadRequest

LOCK = {
    "name": "app",
    "lockfileVersion": 3,
    "packages": {
        "": {"name": "app", "dependencies": {"express": "^4"}},
        "node_modules/express": {
            "version": "4.18.2",
            "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz",
        },
        "node_modules/@types/node": {
            "version": "20.1.0",
            "resolved": "https://registry.npmjs.org/@types/node/-/node-20.1.0.tgz",
        },
        "node_modules/express/node_modules/debug": {
            "version": "2.6.9",
            "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz",
        },
        "node_modules/debug": {
            "version": "4.3.4",
            "resolved": "https://registry.npmjs.org/debug/-/debug-4.3.4.tgz",
        },
        "node_modules/alias": {
            "name": "ms",
            "version": "2.1.3",
            "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
        },
        "node_modules/local": {"resolved": "packages/local", "link": True},
        "node_modules/from-git": {"version": "1.0.0", "resolved": "git+ssh://git@host/x.git#abc"},
        "node_modules/express/node_modules/bundled": {
            "version": "1.0.0",
            "resolved": "https://registry.npmjs.org/bundled/-/bundled-1.0.0.tgz",
            "inBundle": True,
        },
    },
}


def test_packuments_once_and_every_tarball():
    items = list(package_lock(json.dumps(LOCK)))
    assert [item.path for item in items] == [
        "express",
        "express/-/express-4.18.2.tgz",
        "@types/node",
        "@types/node/-/node-20.1.0.tgz",
        "debug",
        "debug/-/debug-2.6.9.tgz",
        "debug/-/debug-4.3.4.tgz",
        "ms",
        "ms/-/ms-2.1.3.tgz",
    ]
    assert items[0].accept == INSTALL_ACCEPT
    assert all(item.links is None for item in items)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not a package-lock.json"),
        (json.dumps({"lockfileVersion": 1, "dependencies": {}}), "lockfileVersion 2 or 3"),
    ],
)
def test_what_is_no_v2_or_v3_lock_file_is_refused(text, reason):
    with pytest.raises(BadRequest, match=reason):
        list(package_lock(text))
