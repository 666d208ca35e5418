"""Role bindings: which user holds which roles on which repository."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, BigId


class RoleBinding(Base):
    """One role of one user on one repository (a user may hold several)."""

    __tablename__ = "role_bindings"
    __table_args__ = (UniqueConstraint("repository_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
