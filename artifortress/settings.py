"""Configuration from ``ARTIFORTRESS_*`` environment variables and an optional TOML file.

Every setting is a field of :class:`Settings`; its environment variable is
``ARTIFORTRESS_`` + the field name in upper case, and a TOML file may set the
same keys (either spelling).  The environment wins over the file.  A wrong
value raises :class:`~artifortress.errors.ConfigurationError` naming the
variable, so start-up stops with a message an operator can act on.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from artifortress.errors import ConfigurationError
from artifortress.identity.providers import parse_providers

log = logging.getLogger("artifortress.settings")

PREFIX = "ARTIFORTRESS_"
_BIND = re.compile(r"^(unix:.+|\[?[0-9A-Za-z.:-]*\]?:\d{1,5})$")
_SIZE = re.compile(r"^(\d+)\s*([KMGT]i?B?|B)?$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _whole_number(raw: str, expected: str, smallest: int) -> int:
    """*raw* as an int of at least *smallest*; ValueError(*expected*) for anything else."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(expected) from None
    if value < smallest:
        raise ValueError(expected)
    return value


def _parse_int(raw: str) -> int:
    return _whole_number(raw, "expected a whole number, 0 or more", 0)


def _parse_positive_int(raw: str) -> int:
    return _whole_number(raw, "expected a positive whole number", 1)


def _parse_size(raw: str) -> int:
    """Parse ``1048576``, ``512MiB``, ``2G`` (binary units) into bytes."""
    match = _SIZE.match(raw.strip())
    if not match:
        raise ValueError("expected a byte count such as 1048576, 512MiB or 2GiB")
    unit = (match.group(2) or "").upper()[:1]
    return int(match.group(1)) * _SIZE_UNITS[unit]


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_duration(raw: str) -> float:
    """Parse ``90``, ``30s``, ``15m``, ``24h`` or ``7d`` into seconds."""
    match = _DURATION.match(raw.strip())
    if not match:
        raise ValueError("expected a duration such as 30s, 15m, 24h or 7d")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]


def _parse_bind(raw: str) -> str:
    if not _BIND.match(raw):
        raise ValueError("expected HOST:PORT or unix:PATH (gunicorn syntax)")
    if not raw.startswith("unix:") and not 0 < int(raw.rsplit(":", 1)[1]) < 65536:
        raise ValueError("the port must be between 1 and 65535")
    return raw


def _parse_url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        parts = urlsplit(raw)
        scheme = parts.scheme.split("+")[0]
        if scheme not in schemes:
            raise ValueError(f"expected a URL starting with one of {', '.join(schemes)}")
        if scheme != "unix" and not parts.hostname:
            raise ValueError("the URL names no host")
        return raw

    return parse


#: The database drivers installed with Artifortress (``None``: the dialect's default).
_DRIVERS: dict[str, set[str | None]] = {"sqlite": {None, "pysqlite"}, "postgresql": {"psycopg"}}


def _parse_database_url(raw: str) -> str:
    """A SQLAlchemy URL for SQLite or PostgreSQL through psycopg 3 (the installed driver)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    expected = "expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
    try:
        url = make_url(raw.replace("postgres://", "postgresql://", 1))
    except (ArgumentError, ValueError):
        raise ValueError(expected) from None
    dialect, _, driver = url.drivername.partition("+")
    if dialect == "postgresql" and not driver:
        # Plain postgresql:// means psycopg2 to SQLAlchemy, which is not installed.
        url = url.set(drivername="postgresql+psycopg")
        driver = "psycopg"
    if dialect not in _DRIVERS or (driver or None) not in _DRIVERS[dialect]:
        raise ValueError(expected)
    if dialect == "postgresql" and not url.database:
        raise ValueError(f"the URL names no database; {expected}")
    return url.render_as_string(hide_password=False)


def _parse_blob_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        return raw
    if parts.scheme == "s3" and parts.netloc:
        return raw
    raise ValueError("expected file:///ABSOLUTE/PATH or s3://BUCKET[/PREFIX]")


def _parse_python_file(raw: str) -> str:
    """The absolute path of an existing ``.py`` file."""
    path = Path(raw).expanduser()
    if path.suffix != ".py":
        raise ValueError("expected the path of a Python file ending in .py")
    if not path.is_file():
        raise ValueError("no such file")
    return str(path.resolve())


def _parse_existing_file(raw: str) -> str:
    """The absolute path of an existing file."""
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ValueError("no such file")
    return str(path.resolve())


def _parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _parse_audience(raw: str) -> str:
    if not raw.strip() or any(c.isspace() for c in raw.strip()):
        raise ValueError("expected one word, e.g. artifortress or the gateway's URL")
    return raw.strip()


def _parse_oidc_providers(raw: str) -> str:
    """A JSON list of OpenID Connect providers, checked (artifortress.identity.providers)."""
    parse_providers(raw)
    return raw.strip()


def _parse_secret_key(raw: str) -> str:
    """Any non-blank secret; the encryption key is derived from it (``secretbox``)."""
    if not raw.strip():
        raise ValueError("expected a long random string, e.g. from openssl rand -hex 32")
    return raw.strip()


def _parse_accel_prefix(raw: str) -> str:
    if raw and not (raw.startswith("/") and raw.endswith("/")):
        raise ValueError("expected an internal URL prefix such as /_accel/ (or empty for off)")
    return raw


def _format_duration(seconds: float) -> str:
    """Seconds in the largest whole unit that _parse_duration reads: ``24h``, ``7d``, ``1.5s``."""
    # At least two of a unit: 24h and 60s read better than 1d and 1m.
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _format_size(count: int) -> str:
    """Bytes as the largest whole binary unit :func:`_parse_size` reads: ``1MiB``, ``1GiB``."""
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size}{unit}"
    return str(count)


def _format_bool(value: bool) -> str:
    return "true" if value else "false"


#: How a parsed value is written back, the way an operator would type it.
_FORMATS: dict[Callable[[str], Any], Callable[[Any], str]] = {
    _parse_duration: _format_duration,
    _parse_size: _format_size,
    _parse_bool: _format_bool,
}


def _setting(
    default: Any, parse: Callable[[str], Any], doc: str, *, default_text: str | None = None
) -> Any:
    """A field parsed by *parse*; *default_text* describes a default that is computed."""
    metadata = {"parse": parse, "doc": doc, "default_text": default_text}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Validated configuration; build it with :meth:`load`."""

    home: Path = _setting(
        Path("./var"), Path, "data folder for the embedded default", default_text="./var"
    )
    bind: str = _setting("127.0.0.1:8080", _parse_bind, "listen address (gunicorn syntax)")
    database_url: str = _setting(
        "", _parse_database_url, "SQLAlchemy URL", default_text="sqlite:///HOME/artifortress.db"
    )
    blob_url: str = _setting(
        "", _parse_blob_url, "file://PATH or s3://BUCKET[/PREFIX]", default_text="file://HOME/blobs"
    )
    s3_endpoint_url: str = _setting("", _parse_url("http", "https"), "S3-compatible endpoint")
    redis_url: str = _setting("", _parse_url("redis", "rediss", "unix"), "Redis for caches")
    public_url: str = _setting("", _parse_url("http", "https"), "external base URL")
    workers: int = _setting(2, _parse_positive_int, "gunicorn worker processes")
    threads: int = _setting(8, _parse_positive_int, "threads per gunicorn worker")
    client_header_timeout: float = _setting(
        30.0,
        _parse_duration,
        "time a client has to send a request's headers and a body of up to 64 KiB (408 after)",
    )
    client_body_timeout: float = _setting(
        60.0, _parse_duration, "longest silence of a client while a larger body streams in"
    )
    client_send_timeout: float = _setting(
        60.0, _parse_duration, "longest time a client may read nothing of a response"
    )
    gunicorn_conf: str = _setting(
        "",
        _parse_python_file,
        "gunicorn config file (e.g. deploy/gunicorn.conf.py); its values win",
    )
    log_format: str = _setting("text", _parse_choice("text", "json"), "text or json lines")
    log_level: str = _setting(
        "info", _parse_choice("debug", "info", "warning", "error"), "log level"
    )
    token_max_ttl_days: int = _setting(365, _parse_positive_int, "longest token lifetime")
    token_default_ttl_days: int = _setting(90, _parse_positive_int, "token lifetime if unset")
    token_cache_seconds: float = _setting(
        1.0, _parse_duration, "how long a process trusts a cached token or read decision (<= 1s)"
    )
    # Trusted publishing (artifortress.publishing).
    trusted_publishing_audience: str = _setting(
        "artifortress", _parse_audience, "the `aud` CI ID tokens must carry (/_/oidc/audience)"
    )
    trusted_publishing_token_ttl: float = _setting(
        900.0, _parse_duration, "life of a token minted for a trusted publisher (at most 1h)"
    )
    max_json_body: int = _setting(1024**2, _parse_size, "largest JSON request body")
    rendering_cache_size: int = _setting(
        64 * 1024**2, _parse_size, "in-process cache of index pages and packuments, per worker"
    )
    draft_ttl: float = _setting(
        24 * 3600.0, _parse_duration, "how long an unpublished draft lives (e.g. 24h)"
    )
    tombstone_retention: float = _setting(
        7 * 86400.0, _parse_duration, "how long a deleted version can be restored (e.g. 7d)"
    )
    gc_grace: float = _setting(
        24 * 3600.0, _parse_duration, "GC never collects anything younger than this (e.g. 24h)"
    )
    scrub_interval: float = _setting(
        0.0,
        _parse_duration,
        "how often the event worker re-hashes every stored blob (e.g. 7d; 0: never, "
        "run `artifortress scrub` yourself)",
    )
    trust_forwarded: bool = _setting(
        False, _parse_bool, "trust X-Forwarded-For/-Proto from a front proxy"
    )
    accel_redirect: str = _setting(
        "",
        _parse_accel_prefix,
        "internal URL prefix of a front proxy (e.g. /_accel/): it sends pages and local blobs "
        "after authorization (X-Accel-Redirect, see deploy/nginx.conf)",
    )
    renderings_dir: str = _setting(
        "", str, "where pages are written for the front proxy", default_text="HOME/renderings"
    )
    # Blob data plane (artifortress.blobs).
    s3_region: str = _setting("", str, "S3 region", default_text="boto3's own, else us-east-1")
    s3_presign_downloads: bool = _setting(
        False, _parse_bool, "answer S3 blob downloads with a redirect to a presigned URL"
    )
    s3_presign_ttl: float = _setting(
        300.0, _parse_duration, "lifetime of a presigned download URL (e.g. 5m)"
    )
    upload_session_ttl: float = _setting(
        24 * 3600.0, _parse_duration, "how long an upload session stays open (e.g. 24h)"
    )
    upload_max_part_size: int = _setting(
        1024**3, _parse_size, "largest part of an upload session (413 above; S3: at most 5GiB)"
    )
    upload_min_part_size: int = _setting(
        5 * 1024**2, _parse_size, "smallest part but the last (S3 needs at least 5MiB)"
    )
    max_blob_size: int = _setting(1024**4, _parse_size, "largest blob an upload may announce")
    max_package_upload: int = _setting(
        1024**3, _parse_size, "largest twine upload or npm publish body (413 beyond)"
    )
    # Event plane (artifortress.outbox, search, webhooks).
    event_max_attempts: int = _setting(
        10, _parse_positive_int, "attempts before an event or webhook delivery is dead-lettered"
    )
    event_retry_delay: float = _setting(
        2.0, _parse_duration, "first retry delay after a failed handler; doubles per attempt"
    )
    event_retry_max_delay: float = _setting(
        600.0, _parse_duration, "longest delay between two attempts (e.g. 10m)"
    )
    event_retention: float = _setting(
        7 * 86400.0, _parse_duration, "how long handled events stay listed (e.g. 7d)"
    )
    worker_lease: float = _setting(
        60.0, _parse_duration, "how long a claimed event is a worker's before others retry it"
    )
    worker_poll_interval: float = _setting(
        1.0, _parse_duration, "how often an idle worker looks for new events"
    )
    worker_batch: int = _setting(10, _parse_positive_int, "events a worker claims at a time")
    worker_quiet_period: float = _setting(
        0.25,
        _parse_duration,
        "how long a worker lets new events settle before handling them, so that a burst "
        "(a cold install through a remote) is handled at once after it, not beside it; "
        "events wait at most 2s for a burst to end; 0 handles them as they come",
    )
    embedded_worker: bool = _setting(
        True,
        _parse_bool,
        "on the embedded SQLite default, `serve` runs and supervises one outbox worker itself "
        "(production on PostgreSQL runs `artifortress worker` processes instead)",
    )
    # Attestation plane (artifortress.attestations).
    sigstore_trusted_root: str = _setting(
        "",
        _parse_existing_file,
        "sigstore trusted_root.json that attestations are verified against, offline",
        default_text="the production root shipped in the sigstore package",
    )
    webhook_allow_private: bool = _setting(
        False, _parse_bool, "let webhooks reach private, loopback and link-local addresses"
    )
    webhook_timeout: float = _setting(
        10.0, _parse_duration, "how long a webhook receiver may take to answer"
    )
    # Remote repositories (artifortress.remote).
    upstream_connect_timeout: float = _setting(
        5.0, _parse_duration, "how long a connection to an upstream may take to open"
    )
    upstream_read_timeout: float = _setting(
        30.0,
        _parse_duration,
        "how long an upstream may take to answer, and stay silent while sending",
    )
    upstream_retries: int = _setting(
        2, _parse_int, "retries of an upstream GET on connection failures and 502/503/504"
    )
    upstream_min_rate: int = _setting(
        10 * 1024,
        _parse_size,
        "bytes per second an upstream file must arrive at, on average over each 30s "
        "(0: no floor); a slower fetch fails",
    )
    upstream_allow_private: bool = _setting(
        True,
        _parse_bool,
        "let remote repositories reach private and loopback addresses (link-local and cloud "
        "metadata addresses never)",
    )
    oidc_providers: str = _setting(
        "",
        _parse_oidc_providers,
        "OpenID Connect providers people sign in with: a JSON list of objects with name, "
        "issuer, client_id, client_secret and options (docs/identity.md); shown as ***",
    )
    secret_key: str = _setting(
        "",
        _parse_secret_key,
        "secret (a long random string) from which the key that encrypts stored secrets, "
        "such as upstream passwords, is derived; every node must share it",
        default_text="generated once in HOME/secret.key",
    )

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Read the TOML file (if any), then the environment, and validate everything."""
        environ = os.environ if environ is None else environ
        config_file = config_file or environ.get(PREFIX + "CONFIG") or None
        raw: dict[str, tuple[str, str]] = {}  # field -> (value, where it came from)
        if config_file:
            raw.update(_read_toml(Path(config_file)))
        for field in dataclasses.fields(cls):
            name = PREFIX + field.name.upper()
            if name in environ and environ[name] != "":
                raw[field.name] = (environ[name], "environment")
        _warn_unknown(environ)
        values = {
            name: _parse_field(cls, name, value, source) for name, (value, source) in raw.items()
        }
        settings = cls(**values)
        settings._check()
        return settings.with_defaults()

    def with_defaults(self) -> Settings:
        """Fill the URLs that default to places under ``home``."""
        home = self.home.resolve()
        return dataclasses.replace(
            self,
            home=home,
            database_url=self.database_url or f"sqlite:///{home / 'artifortress.db'}",
            blob_url=self.blob_url or f"file://{home / 'blobs'}",
        )

    @property
    def download_presign_ttl(self) -> int | None:
        """Lifetime of presigned download URLs, or None when downloads are not redirected."""
        return int(self.s3_presign_ttl) if self.s3_presign_downloads else None

    @property
    def is_embedded(self) -> bool:
        """True for the SQLite default, which migrates itself on start."""
        return self.database_url.startswith("sqlite")

    def _check(self) -> None:
        if self.token_default_ttl_days > self.token_max_ttl_days:
            raise ConfigurationError(
                f"{PREFIX}TOKEN_DEFAULT_TTL_DAYS ({self.token_default_ttl_days}) exceeds "
                f"{PREFIX}TOKEN_MAX_TTL_DAYS ({self.token_max_ttl_days}); lower the default."
            )
        if not 0 <= self.token_cache_seconds <= 1:
            raise ConfigurationError(
                f"{PREFIX}TOKEN_CACHE_SECONDS must be between 0 and 1 so that a revoked "
                "token stops working within one second on every process."
            )
        self._check_uploads()

    def _check_uploads(self) -> None:
        if self.upload_min_part_size > self.upload_max_part_size:
            raise ConfigurationError(
                f"{PREFIX}UPLOAD_MIN_PART_SIZE exceeds {PREFIX}UPLOAD_MAX_PART_SIZE"
            )
        if self.blob_url.startswith("s3:") and not (
            self.upload_min_part_size >= 5 * 1024**2 and self.upload_max_part_size <= 5 * 1024**3
        ):
            raise ConfigurationError(
                f"with S3, {PREFIX}UPLOAD_MIN_PART_SIZE must be at least 5MiB and "
                f"{PREFIX}UPLOAD_MAX_PART_SIZE at most 5GiB (S3's multipart limits)"
            )


def _read_toml(path: Path) -> dict[str, tuple[str, str]]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: {exc}") from exc
    known = {f.name for f in dataclasses.fields(Settings)}
    result: dict[str, tuple[str, str]] = {}
    for key, value in data.items():
        name = key.lower().removeprefix(PREFIX.lower())
        if name not in known:
            raise ConfigurationError(f"unknown key {key!r} in {path}; known: {sorted(known)}")
        if not isinstance(value, str | int | float | bool):
            raise ConfigurationError(
                f"{key!r} in {path} must be a string, number or boolean, not a TOML "
                f"{type(value).__name__}"
            )
        result[name] = (str(value).lower() if isinstance(value, bool) else str(value), str(path))
    return result


#: ``ARTIFORTRESS_*`` variables that are not settings but are expected around.
_NOT_SETTINGS = ("ARTIFORTRESS_CONFIG", "ARTIFORTRESS_TEST_")


def _warn_unknown(environ: Mapping[str, str]) -> None:
    """Name misspelt variables: an ignored ``ARTIFORTRESS_WORKER=8`` is hard to spot."""
    known = [PREFIX + f.name.upper() for f in dataclasses.fields(Settings)]
    for name in environ:
        if name.startswith(PREFIX) and name not in known and not name.startswith(_NOT_SETTINGS):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            log.warning("ignoring %s: no such setting%s", name, hint)


def _parse_field(cls: type[Settings], name: str, raw: str, source: str) -> Any:
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    try:
        return field.metadata["parse"](raw)
    except ValueError as exc:
        where = "" if source == "environment" else f" (set in {source})"
        raise ConfigurationError(
            f"{PREFIX}{name.upper()}{where}: {exc}, got "
            + ("a value not shown (a secret)" if name in _SECRETS else repr(without_password(raw)))
        ) from None


def describe() -> list[tuple[str, str, str]]:
    """(variable, default as typed, meaning) for every setting; "" for a default of unset."""
    return [
        (
            PREFIX + f.name.upper(),
            f.metadata["default_text"] or shown(f, f.default),
            f.metadata["doc"],
        )
        for f in dataclasses.fields(Settings)
    ]


def shown(field: dataclasses.Field[Any], value: Any) -> str:
    """*value* of *field* written as an operator types it: ``24h``, ``true``, ``1MiB``."""
    return _FORMATS.get(field.metadata["parse"], str)(value)


#: Settings whose value is a secret as a whole: shown as ``***`` when set.
_SECRETS = frozenset({"secret_key", "oidc_providers"})


def current(settings: Settings) -> list[tuple[str, str]]:
    """(variable, value as typed) for every setting of *settings*, passwords hidden."""
    return [
        (PREFIX + f.name.upper(), _shown_safely(settings, f)) for f in dataclasses.fields(settings)
    ]


def _shown_safely(settings: Settings, field: dataclasses.Field[Any]) -> str:
    value = getattr(settings, field.name)
    if field.name in _SECRETS:
        return "***" if value else ""
    return without_password(shown(field, value))


def without_password(value: str) -> str:
    """Hide the password of a URL (``scheme://user:secret@host`` -> ``user:***``)."""
    return re.sub(r"(://[^:/@\s]*):[^@/\s]+@", r"\1:***@", value)
