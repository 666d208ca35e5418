"""Stored renderings and the change counters that say whether they are current.

Every change to a package bumps two counters in the same transaction as the
change: the package's and the repository's (scope ``""``).  A rendering
remembers the counter value it was built from and is served only while that
value is current, so a rendering built from an old state can never be served
after a change commits, on any node.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, UtcDateTime, utcnow

REPO_SCOPE = ""


class ChangeCounter(Base):
    __tablename__ = "change_counters"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    #: A package name, or ``""`` for the repository as a whole.
    scope: Mapped[str] = mapped_column(String(255), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=1)
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Document(Base):
    __tablename__ = "documents"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    #: The plugin's name for the rendering, e.g. ``pypi:simple:requests:json``.
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    scope: Mapped[str] = mapped_column(String(255))
    revision: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(255))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    #: When the state it renders last changed (``Last-Modified``).
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    built_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
