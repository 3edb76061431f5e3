"""Request and response bodies of /v1/alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints, field_validator

from ragaas.notifications import events

MASK = "********"  # as data-source secrets are shown
MIN_SECRET_CHARS = 16
EMAIL_PATTERN = r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+$"
WebhookUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=320)]


class AlertKind(StrEnum):
    SYNC_FAILED = events.SYNC_FAILED
    SOURCE_STALE = events.SOURCE_STALE
    GUARDRAIL_FIRED = events.GUARDRAIL_FIRED
    LOW_RATING = events.LOW_RATING
    ERROR_RATE = events.ERROR_RATE


class WebhookIn(BaseModel):
    url: WebhookUrl = Field(description="http(s) URL that receives a signed JSON POST.")
    secret: str = Field(
        max_length=500,
        description="HMAC-SHA256 key of X-Ragaas-Signature (16+ characters); sealed at rest, "
        f"never shown again. On update, send {MASK!r} back to keep the stored one.",
    )

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value != MASK and len(value) < MIN_SECRET_CHARS:
            raise ValueError(f"a webhook secret has at least {MIN_SECRET_CHARS} characters")
        return value


class WebhookOut(BaseModel):
    url: str = Field(description="In full for admins; only its origin for other readers.")
    secret: str = Field(description="Always masked.")


class AlertFields(BaseModel):
    """Everything an alert can carry; which fields apply depends on ``kind``."""

    threshold: float | None = Field(
        default=None,
        description="source_stale: hours without a successful sync; low_rating: alert on a "
        "rating <= this (1-5); error_rate: percent of failed/blocked over the window.",
    )
    window_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="error_rate: the window (default 15)."
    )
    min_events: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="error_rate: fewer queries + finished documents in the window never alert "
        "(default 10).",
    )
    source_id: uuid.UUID | None = Field(
        default=None, description="sync_failed, source_stale: only this data source."
    )
    rule_name: str | None = Field(
        default=None, max_length=200, description="guardrail_fired: only this rule."
    )
    webhook: WebhookIn | None = None
    emails: list[Email] = Field(default_factory=list, max_length=50)
    active: bool = True


class AlertCreate(AlertFields):
    name: str = Field(min_length=1, max_length=200)
    kind: AlertKind


class AlertUpdate(BaseModel):
    """Only the fields sent change; ``null`` clears an optional one (e.g. the webhook)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: AlertKind | None = None
    threshold: float | None = None
    window_minutes: int | None = Field(default=None, ge=1, le=1440)
    min_events: int | None = Field(default=None, ge=1, le=1_000_000)
    source_id: uuid.UUID | None = None
    rule_name: str | None = Field(default=None, max_length=200)
    webhook: WebhookIn | None = None
    emails: list[Email] | None = Field(default=None, max_length=50)
    active: bool | None = None


class AlertOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: AlertKind
    threshold: float | None
    window_minutes: int | None
    min_events: int | None
    source_id: uuid.UUID | None
    rule_name: str | None
    webhook: WebhookOut | None
    emails: list[str]
    active: bool
    state: dict[str, Any] = Field(description="Episode of a periodic kind, e.g. firing_since.")
    created_at: datetime
    updated_at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Also the X-Ragaas-Delivery header: the idempotency key.")
    alert_id: uuid.UUID
    event_id: uuid.UUID
    kind: str
    channel: str = Field(description="webhook or email")
    target: str = Field(description="The URL (its origin for non-admins) or the recipients.")
    status: str = Field(description="pending (retrying), sent or failed (gave up)")
    attempts: int
    last_error: str | None
    response_status: int | None
    test: bool
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    payload: dict[str, Any] = Field(description="The event as sent.")
