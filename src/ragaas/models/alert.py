"""Alert rules of an organisation and the log of every notification they sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base, TenantOwned, Timestamped, UUIDPk


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryStatus:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Alert(UUIDPk, TenantOwned, Timestamped, Base):
    """What to watch (``kind`` and its parameters) and where to say it (webhook, e-mail)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_organization_id_kind", "organization_id", "kind"),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    # source_stale: hours; low_rating: highest rating that alerts; error_rate: percent.
    threshold: Mapped[float | None] = mapped_column(Float)
    window_minutes: Mapped[int | None] = mapped_column(Integer)  # error_rate
    min_events: Mapped[int | None] = mapped_column(Integer)  # error_rate
    # A filter on one source (sync_failed, source_stale); the alert goes with the source.
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("data_sources.id", ondelete="CASCADE")
    )
    rule_name: Mapped[str | None] = mapped_column(String(200))  # guardrail_fired
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(Text)  # sealed (sources.crypto)
    emails: Mapped[list[str]] = mapped_column(ARRAY(String(320)), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Episode bookkeeping of the periodic kinds (error_rate: {"firing_since": ...}).
    state: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=_now, onupdate=_now
    )


class AlertDelivery(UUIDPk, TenantOwned, Timestamped, Base):
    """One notification of one event through one channel, with every attempt's outcome."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        Index("ix_alert_deliveries_alert_id_created_at", "alert_id", "created_at"),
        # An event that may repeat (a retried sync run, a stale episode seen by every check)
        # is delivered once per alert and channel.
        Index(
            "uq_alert_deliveries_dedup",
            "alert_id",
            "channel",
            "dedup_key",
            unique=True,
            postgresql_where="dedup_key IS NOT NULL",
        ),
    )

    alert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("alerts.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))  # webhook | email
    target: Mapped[str] = mapped_column(String(4000))  # the URL, or the recipients
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)  # {id, kind, organization_id, ...}
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    dedup_key: Mapped[str | None] = mapped_column(String(300))
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
