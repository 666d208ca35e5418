"""``/v2/``: the version check clients make first (and log in with)."""

from __future__ import annotations

import falcon

from artifortress.plugin import authenticated
from artifortress_oci.errors import API_VERSION_HEADER


class VersionCheckResource:
    """``GET /v2/``: 200 to a caller whose credentials work, 401 with the challenge otherwise.

    ``docker login``, ``podman login`` and ``skopeo login`` check credentials here;
    anonymous pulls of public repositories go on after the 401 without any.
    """

    @authenticated
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.set_header(*API_VERSION_HEADER)
        resp.media = {}
