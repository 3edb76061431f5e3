from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base, Timestamped, UUIDPk


class Organization(UUIDPk, Timestamped, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Quota overrides set by an operator (`ragaas admin set-quota`); NULL: the RAGAAS_QUOTA_*
    # default, 0: unlimited.
    max_documents: Mapped[int | None] = mapped_column(BigInteger)
    max_storage_bytes: Mapped[int | None] = mapped_column(BigInteger)
    max_queries_per_day: Mapped[int | None] = mapped_column(BigInteger)
    # Bumped by triggers with any change to the quota overrides, rules or RAG configurations
    # (migration 0013): API processes reuse what they read for one generation.
    settings_generation: Mapped[int] = mapped_column(BigInteger, server_default="0", default=0)
