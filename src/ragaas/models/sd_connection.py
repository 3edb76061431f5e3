from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base, TenantOwned, Timestamped, UUIDPk


class SdConnection(UUIDPk, TenantOwned, Timestamped, Base):
    """A service-desk ticket database (the seed's ``sd_connections``)."""

    __tablename__ = "sd_connections"

    name: Mapped[str] = mapped_column(String(200))
    db_type: Mapped[str] = mapped_column(String(20))
    connection: Mapped[str] = mapped_column(Text)
    table_mappings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
