"""A browser for the UI's functional tests: keeps cookies, reads forms' CSRF tokens.

It drives the real application through ``falcon.testing``, as a person's
browser would: cookies set by one answer go with the next request, and a
form is posted with the CSRF token of the page it came from.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence

import falcon.testing

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
HTML = {"Accept": "text/html,application/xhtml+xml"}


class Browser:
    def __init__(self, client: falcon.testing.TestClient) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.last: falcon.testing.Result | None = None

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = dict(HTML)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**headers, **(extra or {})}

    def _keep(self, result: falcon.testing.Result) -> falcon.testing.Result:
        for name, cookie in result.cookies.items():
            if cookie.max_age == 0 or cookie.value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie.value
        self.last = result
        return result

    def get(self, path: str, **kwargs: object) -> falcon.testing.Result:
        return self._keep(self.client.simulate_get(path, headers=self._headers(), **kwargs))

    def csrf(self) -> str:
        assert self.last is not None, "open a page first"
        found = CSRF.search(self.last.text)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)

    def post(
        self,
        path: str,
        fields: Mapping[str, str | Sequence[str]],
        *,
        csrf: str | None = None,
        follow: bool = False,
    ) -> falcon.testing.Result:
        """Post a form; *csrf* defaults to the token on the last page opened."""
        body = dict(fields)
        body.setdefault("csrf", self.csrf() if csrf is None else csrf)
        encoded = urllib.parse.urlencode(body, doseq=True)
        headers = self._headers({"Content-Type": "application/x-www-form-urlencoded"})
        result = self._keep(self.client.simulate_post(path, headers=headers, body=encoded))
        if follow and result.status_code == 303:
            return self.get(result.headers["Location"])
        return result

    def sign_in(self, token: str) -> falcon.testing.Result:
        self.get("/ui/sign-in")
        signed_in = self.post("/ui/sign-in", {"token": token})
        assert signed_in.status_code == 303, signed_in.text
        return signed_in
