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
