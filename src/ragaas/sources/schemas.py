"""Request and response bodies of /v1/data-sources."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DataSourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(description="file, database, ...")
    config: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list, description="Copied to its documents.")
    cron: str | None = Field(default=None, description="5-field cron (UTC); null: manual only.")


class DataSourceUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] | None = Field(
        default=None, description="The whole config; a secret sent back masked is kept."
    )
    labels: list[str] | None = None
    cron: str | None = Field(default=None, description="Send an empty string to unschedule.")


class SyncRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    data_source_id: uuid.UUID
    trigger: str
    status: str
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int]
    errors: list[dict[str, Any]]


class DataSourceOut(BaseModel):
    id: uuid.UUID
    name: str
    type: str
    config: dict[str, Any] = Field(description="Secrets are masked.")
    labels: list[str]
    cron: str | None
    next_sync_at: datetime | None
    last_refresh_at: datetime | None
    created_at: datetime
    document_count: int
    last_run: SyncRunOut | None
