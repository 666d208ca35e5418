"""Downloads: distributions, their PEP 658 ``.metadata`` and PEP 740 ``.provenance``."""

from __future__ import annotations

import falcon

from artifortress.plugin import HOSTED, Gateway, NotFound, Permission, requires
from artifortress_pypi import members
from artifortress_pypi.names import is_valid_project_name, normalize


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
        """A distribution or one of its companion files, with ranges (uv and poetry use them).

        In a remote or virtual repository: from the member that holds it,
        fetched from upstream on its first request.
        """
        if not is_valid_project_name(project):
            # No such project can exist; a remote would ask its upstream for it all the same.
            raise NotFound(f"no project {project!r} in {repo}")
        gateway = Gateway(req)
        where, name = gateway.repo, normalize(project)
        if where.kind == HOSTED:
            gateway.send_artifact(resp, where, name, version, filename)
        else:
            members.send_file(gateway, resp, where, name, version, filename)
