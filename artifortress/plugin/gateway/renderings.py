"""Stored renderings (indexes, packuments): rebuilt after a change, answered with 304s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import falcon

from artifortress.plugin.gateway.base import GatewayBase
from artifortress.renderings.store import Rendered, rendered
from artifortress.repos.views import RepoInfo


class RenderingsGateway(GatewayBase):
    """Stored renderings and answering with them."""

    def rendered(
        self,
        repo: RepoInfo,
        key: str,
        *,
        package: str | None,
        content_type: str,
        build: Callable[[], bytes],
    ) -> Rendered:
        """The stored rendering *key*, rebuilt by *build* only after a change.

        *package* scopes it: any change to that package (or, with ``None``, to
        anything in the repository) makes the next call rebuild it.
        """
        ctx = self._ctx
        # A request that has read nothing yet reads the counter outside a session.
        return rendered(
            ctx.db_when_needed,
            repo.id,
            f"{repo.format}:{key}",
            package=package,
            content_type=content_type,
            build=build,
            cache=ctx.services.renderings,
            counters=ctx.services.counters,
        )

    def send_rendered(
        self, resp: falcon.Response, doc: Rendered, *, vary: Sequence[str] = ("Accept",)
    ) -> None:
        """Answer with a stored rendering, or 304 when the client's copy is current.

        Clients revalidate every time (``Cache-Control: max-age=0``), so the
        ETag/Last-Modified pair is what keeps repeat installs cheap.
        """
        resp.etag = doc.etag
        resp.last_modified = doc.last_modified
        resp.vary = list(vary)
        resp.cache_control = ["max-age=0", "must-revalidate"]
        if _not_modified(self._req, doc):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = doc.content_type
        accel = self._ctx.services.accel
        # A body holding a URL built from the client's Host is never shared as a file.
        shareable = self._req.method == "GET" and not self._ctx.client_chosen_url
        handoff = accel.rendering(doc) if accel is not None and shareable else None
        if handoff is not None:
            resp.set_header("X-Accel-Redirect", handoff)  # the front proxy sends the file
            return
        resp.data = doc.body


def _not_modified(req: falcon.Request, doc: Rendered) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
    none_match = req.get_header("If-None-Match")
    if none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in none_match.split(",")}
        return "*" in tags or doc.etag in tags
    since = req.get_header_as_datetime("If-Modified-Since")
    if since is None:
        return False
    # HTTP dates have whole seconds: a change later in the same second as the
    # client's copy must not pass for "not modified", so round the change up.
    changed = doc.last_modified
    ceiling = changed.replace(microsecond=0) + dt.timedelta(seconds=1 if changed.microsecond else 0)
    return ceiling <= since.replace(tzinfo=dt.UTC)
