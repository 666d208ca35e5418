"""The sigstore trust root verification runs against: a file, never the network.

``ARTIFORTRESS_SIGSTORE_TRUSTED_ROOT`` names a ``trusted_root.json`` (the
format sigstore's TUF repository distributes); unset, the production root
shipped inside the ``sigstore`` package is used. Operators update it by
pointing the setting at a newer file (for example one fetched with
``sigstore``'s TUF client on a connected machine): nothing here downloads.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sigstore
from sigstore.errors import Error as SigstoreError
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier

from artifortress.errors import ServiceUnavailable

#: Where the sigstore package keeps the production root it ships (its offline TUF seed).
_SHIPPED = "_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"


def shipped_trusted_root() -> Path:
    """The production trusted root bundled with the installed ``sigstore`` package."""
    return Path(sigstore.__file__).resolve().parent / _SHIPPED


def trusted_root_path(configured: str) -> Path:
    """The configured trusted root, else the shipped one."""
    return Path(configured).expanduser() if configured else shipped_trusted_root()


def verifier_for(configured: str) -> Verifier:
    """A verifier over the trusted root file, loaded once per file version (path, mtime)."""
    path = trusted_root_path(configured)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise _unusable(path, exc) from None
    return _load(str(path), mtime)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: int) -> Verifier:
    del mtime  # part of the cache key only: an updated file is read again
    try:
        return Verifier(trusted_root=TrustedRoot.from_file(path))
    except (SigstoreError, ValueError) as exc:
        raise _unusable(Path(path), exc) from None


def _unusable(path: Path, exc: Exception) -> ServiceUnavailable:
    # An operator's file went missing or bad after start-up (settings check it then):
    # publishes with attestations wait (503) rather than being stored unverified.
    return ServiceUnavailable(f"the sigstore trusted root {path} is not usable: {exc}", 60)
