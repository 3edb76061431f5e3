from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base, TenantOwned, Timestamped, UUIDPk


class DataSource(UUIDPk, TenantOwned, Timestamped, Base):
    __tablename__ = "data_sources"

    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    labels: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    cron: Mapped[str | None] = mapped_column(String(100))
    last_refresh_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the scheduler should next enqueue a sync (NULL: no schedule).
    next_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Left by the last successful sync for the next one: {"since": iso time, "cursor": str}.
    sync_state: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
