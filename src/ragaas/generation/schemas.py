"""Chat request and answer bodies."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

from ragaas.retrieval.schemas import SearchFilters, SearchMode


class ChatRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    stream: bool = False
    top_k: int = Field(default=6, ge=1, le=20, description="Passages given to the answerer")
    mode: SearchMode = SearchMode.HYBRID
    filters: SearchFilters = Field(default_factory=SearchFilters)
    config: str | None = Field(
        default=None, description="A RAG configuration's name; default: the organisation's default"
    )


class Citation(BaseModel):
    n: int = Field(description="The number used in the answer text, as [n]")
    chunk_id: int
    document_id: uuid.UUID
    external_id: str | None
    title: str
    url: str | None
    snippet: str


class ChatResponse(BaseModel):
    answer: str = Field(description="The answer, or a rule's message when one blocked the query")
    citations: list[Citation]
    query_id: uuid.UUID
    metrics: dict[str, Any]
    blocked: bool = False
