"""Secrets stored in the database (upstream passwords), encrypted with one key per installation.

The key is derived from ``ARTIFORTRESS_SECRET_KEY`` (any long random string)
or, when unset, from a secret created once in the data folder
(``HOME/secret.key``, mode 0600). Every node of an installation must use the
same secret, or the secrets one node stored cannot be read by the others.

The process's box travels with each database session (``Session.info``), so
code that reads a stored secret needs nothing but the session.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from artifortress.errors import ConfigurationError
from artifortress.settings import Settings

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

#: Where the box is kept in a session's ``info``.
INFO_KEY = "artifortress.secretbox"
KEY_FILE = "secret.key"


class SecretBox:
    """Seals and opens short secrets; the key is read (or created) on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    def seal(self, secret: str) -> str:
        return self._cipher().encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._cipher().decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise ConfigurationError(
                "a stored secret cannot be decrypted with this node's key: every node must "
                "share ARTIFORTRESS_SECRET_KEY (or the same HOME/secret.key)"
            ) from None

    def secret(self) -> str:
        """The installation's secret, from which keys for other purposes are derived too."""
        return self._settings.secret_key or _key_file(self._settings.home)

    def _cipher(self) -> Fernet:
        # Imported on first use: OpenSSL's bindings cost each worker about 7 MiB, and
        # only remotes with a password need them.
        from cryptography.fernet import Fernet

        with self._lock:
            if self._fernet is None:
                self._fernet = Fernet(derive_key(self.secret()))
            return self._fernet


def derive_key(secret: str) -> bytes:
    """The Fernet key of *secret*: a hash is enough, the secret being long and random."""
    digest = hashlib.sha256(b"artifortress secretbox v1\0" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _key_file(home: Path) -> str:
    """The secret in ``HOME/secret.key``, created (0600) by the first process that needs it."""
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=home, prefix=".secret-")  # created 0600
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(secrets.token_hex(32).encode())
            # link() fails if another process won the race: both then read its key.
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(scratch)
    return path.read_text().strip()


def session_info(settings: Settings) -> dict[str, object]:
    """What every session of the process carries (``sessionmaker(info=...)``)."""
    return {INFO_KEY: SecretBox(settings)}


def box_of(db: Session) -> SecretBox:
    """The secret box of the process that opened *db*."""
    box = db.info.get(INFO_KEY)
    if not isinstance(box, SecretBox):
        raise ConfigurationError("this database session was opened without the secret box")
    return box
