"""``/v2/``: the version check clients make first (and log in with)."""

from __future__ import annotations

import datetime as dt

import falcon

from artifortress.plugin import Gateway, authenticated, public
from artifortress_oci.auth import TOKEN_TTL_SECONDS, parse_scopes
from artifortress_oci.errors import API_VERSION_HEADER
from artifortress_oci.names import FORMAT_NAME, paginate
from artifortress_oci.rendering import oci_errors


class VersionCheckResource:
    """``GET /v2/``: 200 to a caller whose credentials work, 401 with the challenge otherwise.

    ``docker login``, ``podman login`` and ``skopeo login`` check credentials here;
    anonymous pulls of public repositories go on after the 401 without any.
    """

    @authenticated
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.set_header(*API_VERSION_HEADER)
        resp.media = {}


class TokenResource:
    """``GET /v2/_token?service=&scope=``: a short-lived token for the scopes asked.

    Credentials as on any request (Basic with a personal access token as
    password, or none: an anonymous token, which pulls what is public). Wrong
    credentials are a 401, so ``login`` commands report them.

    Issuing is not audited: the token changes nothing (signed, stored nowhere,
    never more than the credential it came from, whose creation was audited),
    and a row per token would be a write on every ``docker pull``. It is
    counted like every request, in ``artifortress_http_requests_total`` with
    ``route="/v2/_token"`` (status 200 issued, 401 refused).
    """

    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        gateway = Gateway(req)
        scope = parse_scopes(req.get_param_as_list("scope") or [])
        token = gateway.issue_scoped_token(
            scope.repos, read_only=not scope.writes, ttl_seconds=TOKEN_TTL_SECONDS
        )
        issued = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        resp.set_header("Cache-Control", "no-store")
        resp.media = {
            "token": token,
            "access_token": token,
            "expires_in": TOKEN_TTL_SECONDS,
            "issued_at": issued,
        }


class CatalogResource:
    """``GET /v2/_catalog?n=&last=``: the images of every repository the caller may read."""

    @authenticated
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        gateway = Gateway(req)
        names = sorted(
            f"{repo.key}/{package.name}"
            for repo in gateway.readable_repositories(FORMAT_NAME)
            for package in gateway.packages(repo)
        )
        with oci_errors():
            page, link = paginate(names, req.get_param("last"), req.get_param("n"))
        if link is not None:
            resp.set_header("Link", f'</v2/_catalog?{link}>; rel="next"')
        resp.set_header(*API_VERSION_HEADER)
        resp.media = {"repositories": page}
