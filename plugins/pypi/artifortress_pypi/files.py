"""Downloads: distributions, their PEP 658 ``.metadata`` and PEP 740 ``.provenance``."""

from __future__ import annotations

import falcon

from artifortress.plugin import Gateway, NotFound, Permission, requires
from artifortress_pypi.names import normalize


class FileResource:
    @requires(Permission.READ)
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        project: str,
        version: str,
        filename: str,
    ) -> None:
        """A distribution or one of its companion files, with ranges (uv and poetry use them)."""
        gateway = Gateway(req)
        found = gateway.version(gateway.repo, normalize(project), version)
        artifact = found.artifact(filename) if found is not None else None
        if artifact is None:
            raise NotFound(f"no file {filename} in {repo}")
        gateway.send_file(
            resp, gateway.repo, artifact.digest, media_type=artifact.media_type, filename=filename
        )

    on_head = on_get
