"""Search request and result bodies."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class SearchMode(StrEnum):
    DENSE = "dense"
    LEXICAL = "lexical"
    HYBRID = "hybrid"


class SearchFilters(BaseModel):
    labels: list[str] = Field(default_factory=list, description="Documents carrying all of these")
    exclude_labels: list[str] = Field(
        default_factory=list, description="Documents carrying none of these"
    )
    data_source_ids: list[uuid.UUID] = Field(default_factory=list)
    document_ids: list[uuid.UUID] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Documents whose metadata contains this JSON object"
    )


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    top_k: int = Field(default=10, ge=1, le=100)
    mode: SearchMode = SearchMode.HYBRID
    filters: SearchFilters = Field(default_factory=SearchFilters)
    config: str | None = Field(
        default=None, description="A RAG configuration's name; default: the organisation's default"
    )


class SearchResult(BaseModel):
    chunk_id: int
    document_id: uuid.UUID
    external_id: str | None
    title: str
    url: str | None
    content: str
    score: float
    metadata: dict[str, Any]
    labels: list[str] = Field(default_factory=list, description="The document's labels")


class SearchResponse(BaseModel):
    results: list[SearchResult]
    mode: SearchMode
    timings_ms: dict[str, float]
    blocked: str | None = Field(default=None, description="A rule's message when one blocked it")
