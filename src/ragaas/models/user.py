from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base, TenantOwned, Timestamped, UUIDPk


class User(UUIDPk, TenantOwned, Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("organization_id", "email"),)

    email: Mapped[str] = mapped_column(String(320))
    # NULL for users created by single sign-on: they have no usable local password.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))  # display name (from SSO)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Free-form groups ("hr", "emea"): rule conditions see them, with the role, as user.roles.
    groups: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    # Tokens issued before this are refused (password change, sign-out everywhere).
    tokens_revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
