"""The audit log: one append-only row per change, login or export."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base, UUIDPk


def _now() -> datetime:
    return datetime.now(UTC)


class ActorKind:
    USER = "user"  # a user signed in with a token
    API_KEY = "api_key"  # a user's API key
    SYSTEM = "system"  # the CLI or a job, no person behind the request
    ANONYMOUS = "anonymous"  # an unauthenticated caller (a failed login)


class AuditEvent(UUIDPk, Base):
    """Who did what to which object, when and from where.

    No foreign keys: the row must outlive the user, key or organisation it names. A database
    trigger refuses UPDATE, DELETE and TRUNCATE (migration 0007).
    ``organization_id`` is NULL only for an event no organisation can be told of (a failed
    login with an unknown e-mail).
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_organization_id_occurred_at", "organization_id", "occurred_at"),
        Index("ix_audit_events_organization_id_action", "organization_id", "action"),
    )

    organization_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=_now
    )
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_api_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
