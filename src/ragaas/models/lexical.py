"""BM25 postings and per-organisation statistics, maintained by triggers on ``chunks``."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base


class ChunkTerm(Base):
    """One posting: a term of a chunk, its frequency there, and the chunk's length."""

    __tablename__ = "chunk_terms"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    chunk_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True
    )
    tf: Mapped[int] = mapped_column(Integer)
    chunk_length: Mapped[int] = mapped_column(Integer)


class LexicalStats(Base):
    """Chunk count and total length per organisation: BM25's N and average length."""

    __tablename__ = "lexical_stats"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    chunk_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # Bumped by triggers whenever the organisation's index changes (migration 0006): the
    # search-result cache keys on it.
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    total_length: Mapped[int] = mapped_column(BigInteger, default=0)
