"""The upstream of a remote repository: where it fetches from, as whom, how often.

The password is sealed with the installation's key (:mod:`artifortress.secretbox`)
before it reaches the database; the API only ever says whether one is set.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.orm import Session

from artifortress.errors import Conflict, ValidationFailed
from artifortress.repos.kinds import REMOTE
from artifortress.repos.models import DEFAULT_METADATA_TTL, Repository, RepositoryUpstream
from artifortress.repos.views import RepoInfo
from artifortress.secretbox import box_of

_TTL = re.compile(r"^(\d+)\s*([smhd]?)$")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: A day of staleness at most for remote metadata: anything longer is a typo.
MAX_METADATA_TTL = 7 * 86400


@dataclasses.dataclass(frozen=True)
class Upstream:
    """A remote's upstream as the engine uses it, the password decrypted."""

    #: Base URL as configured, ending in ``/`` (PyPI: the /simple/ URL; npm: the registry;
    #: generic: a base).
    url: str
    username: str | None
    password: str | None = dataclasses.field(repr=False)
    #: Seconds before cached metadata is revalidated upstream.
    metadata_ttl: int


def upstream_of(db: Session, repo: Repository | RepoInfo) -> Upstream:
    """The upstream of remote *repo*; 409 for a repository of another kind."""
    row = db.get(RepositoryUpstream, repo.id)
    if repo.kind != REMOTE or row is None:
        raise Conflict(f"repository {repo.key!r} is {repo.kind}, not remote: it has no upstream")
    sealed = row.password_encrypted
    password = box_of(db).open(sealed) if sealed is not None else None
    return Upstream(as_base(row.url), row.username, password, row.metadata_ttl_seconds)


def parse_ttl(value: str | int) -> int:
    """``"10m"``, ``"1h"``, ``"30s"``, ``"2d"`` or a number of seconds; 400 otherwise."""
    match = _TTL.fullmatch(str(value).strip())
    seconds = int(match.group(1)) * _TTL_UNITS[match.group(2)] if match else -1
    if not 0 <= seconds <= MAX_METADATA_TTL:
        raise ValidationFailed(
            f"metadata_ttl {value!r} is invalid: use seconds or a duration such as "
            f"30s, 10m or 1h, at most {MAX_METADATA_TTL // 86400}d"
        )
    return seconds


def as_base(url: str) -> str:
    """*url* with a path ending in ``/``: the base that paths are resolved under.

    ``urljoin("https://host/simple", "requests/")`` is ``https://host/requests/``:
    without the slash the base's last segment is lost. Rows saved before URLs
    were normalized are normalized when read.
    """
    parts = urlsplit(url)
    if parts.path.endswith("/"):
        return url
    return urlunsplit(parts._replace(path=parts.path + "/"))


def check_url(url: str) -> str:
    """An http(s) URL with a host and no credentials in it (those go apart, sealed), as a base."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[": an unclosed IPv6 literal
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise ValidationFailed("the upstream url must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed(
            "the upstream url must not carry credentials: give upstream.username and "
            "upstream.password instead (the password is stored encrypted)"
        )
    return as_base(url)


def configure_upstream(
    db: Session, repo: Repository, upstream: dict[str, Any], metadata_ttl: str | int | None
) -> dict[str, Any]:
    """Create or change *repo*'s upstream from a request's fields; what changed, for audit.

    Absent fields keep their value; ``"password": null`` (or ``"username": null``)
    removes it. The audit record says whether a password changed, never which.
    """
    row = db.get(RepositoryUpstream, repo.id)
    if row is None:
        if "url" not in upstream:
            raise ValidationFailed("a remote repository needs upstream.url")
        row = RepositoryUpstream(repository_id=repo.id, metadata_ttl_seconds=DEFAULT_METADATA_TTL)
        db.add(row)
    changed: dict[str, Any] = {}
    url = check_url(upstream["url"]) if "url" in upstream else row.url
    if url != row.url:
        _refuse_moving_the_password(row, url, upstream)
        row.url = changed["upstream_url"] = url
    if "username" in upstream and upstream["username"] != row.username:
        row.username = changed["upstream_username"] = upstream["username"]
    password = upstream.get("password")
    if password is not None:
        row.password_encrypted = box_of(db).seal(password)
        changed["upstream_password"] = "set"
    elif "password" in upstream and row.password_encrypted is not None:
        row.password_encrypted = None
        changed["upstream_password"] = "removed"
    if metadata_ttl is not None:
        ttl = parse_ttl(metadata_ttl)
        if ttl != row.metadata_ttl_seconds:
            row.metadata_ttl_seconds = changed["metadata_ttl"] = ttl
    return changed


def _refuse_moving_the_password(
    row: RepositoryUpstream, url: str, upstream: dict[str, Any]
) -> None:
    """400 if *url* is another origin and the stored password would go there unasked.

    A password was given for one upstream: pointing the remote at another
    host, port or scheme (``https`` to ``http``) must not send it there, nor
    let whoever may change the URL collect it. The request gives the
    password again (or ``null`` to drop it) along with such a URL.
    """
    if row.url is None or row.password_encrypted is None or "password" in upstream:
        return
    if _origin(url) != _origin(row.url):
        raise ValidationFailed(
            "upstream.url names another origin (scheme, host or port) than the one the "
            "stored password was given for: give upstream.password again, or null to drop it"
        )


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def upstream_to_json(db: Session, repo: Repository) -> dict[str, Any]:
    """The upstream as the API shows it: never the password, only whether one is set."""
    row = db.get(RepositoryUpstream, repo.id)
    if row is None:
        return {}
    return {
        "upstream": {
            "url": as_base(row.url),
            "username": row.username,
            "password_set": row.password_encrypted is not None,
        },
        "metadata_ttl": row.metadata_ttl_seconds,
    }
