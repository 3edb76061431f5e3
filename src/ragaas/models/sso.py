"""An organisation's OpenID Connect identity providers, and the users they signed in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base, TenantOwned, Timestamped, UUIDPk


class SsoProvider(UUIDPk, TenantOwned, Timestamped, Base):
    """One OIDC relying-party registration; ``slug`` names the login URL across organisations."""

    __tablename__ = "sso_providers"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    # Sealed with the at-rest keyring (sources/crypto.py); NULL for a public client (PKCE only).
    client_secret: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    groups_claim: Mapped[str] = mapped_column(String(200), default="groups")
    # {"idp group": "role"}; groups are compared case-insensitively.
    group_roles: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    # The role of a user none of whose groups is mapped; NULL: such a user is refused.
    default_role: Mapped[str | None] = mapped_column(String(20))
    allowed_domains: Mapped[list[str]] = mapped_column(ARRAY(String(253)), default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class SsoIdentity(UUIDPk, TenantOwned, Timestamped, Base):
    """A provider's subject (``sub``) linked to a user: the stable key across e-mail changes."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    provider_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("sso_providers.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(255))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
