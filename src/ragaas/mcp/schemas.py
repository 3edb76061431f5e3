"""Structured results of the MCP tools (each tool's output schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ragaas.documents.schemas import DocumentOut
from ragaas.generation.schemas import Citation
from ragaas.retrieval.schemas import SearchMode, SearchResult
from ragaas.sources.schemas import DataSourceOut, SyncRunOut

Answerer = Literal["llm", "extractive"]


class SearchOut(BaseModel):
    results: list[SearchResult]
    mode: SearchMode
    blocked: str | None = Field(default=None, description="A rule's message when one blocked it")


class AnswerOut(BaseModel):
    answer: str = Field(description="The answer with [n] markers, or a rule's block message")
    citations: list[Citation] = Field(description="The sources behind each [n]")
    query_id: uuid.UUID = Field(description="The query-history entry (for feedback)")
    blocked: bool = False
    answerer: Answerer | None = Field(
        default=None, description="llm, or extractive (sentences quoted from the passages)"
    )


class ChunkInfo(BaseModel):
    id: int
    chunk_number: int
    content: str
    token_count: int
    metadata: dict[str, Any]
    embedded: bool = Field(description="Whether its vector is computed yet")


class DocumentWithChunks(DocumentOut):
    # Output schemas are published in validation mode: no 'metadata_' alias here.
    metadata: dict[str, Any]
    chunks: list[ChunkInfo]


class SourcesOut(BaseModel):
    sources: list[DataSourceOut] = Field(description="Data sources; secrets are masked")


class Window(BaseModel):
    since: datetime
    until: datetime


class Volume(BaseModel):
    total: int
    search: int
    chat: int
    blocked: int


class StageLatency(BaseModel):
    stage: str
    queries: int
    p50_ms: float
    p95_ms: float
    max_ms: float


class Usage(BaseModel):
    model: str | None = Field(default=None, description="The LLM; null for the totals row")
    queries: int
    tokens_in: int
    tokens_out: int
    cost: float


class QueryStats(BaseModel):
    window: Window
    volume: Volume
    latency: list[StageLatency] = Field(description="p50/p95/max per recorded stage")
    usage: Usage = Field(description="Totals over the window")
    usage_by_model: list[Usage]


class RatedAnswer(BaseModel):
    query_id: uuid.UUID
    created_at: datetime
    query: str
    answer: str | None
    rating: int
    comment: str | None


class RatedAnswers(BaseModel):
    window: Window
    answers: list[RatedAnswer] = Field(description="Worst rated first")


class UnansweredQuery(BaseModel):
    query_id: uuid.UUID
    created_at: datetime
    kind: str
    query: str


class UnansweredQueries(BaseModel):
    window: Window
    queries: list[UnansweredQuery] = Field(description="Newest first")


class Ingested(BaseModel):
    document_id: uuid.UUID
    title: str
    status: str = Field(description="queued until a worker has chunked and embedded it")
    duplicate: bool = Field(description="Identical content was already there: nothing to do")
    replaced: bool = Field(description="New content for a known external_id")


class Deleted(BaseModel):
    document_id: uuid.UUID
    title: str


class SyncRequested(BaseModel):
    run: SyncRunOut


class Reindexed(BaseModel):
    data_source_id: uuid.UUID
    documents: int = Field(description="Documents queued to be re-chunked and re-embedded")


class Chained(BaseModel):
    """What every LLM-chain result has in common."""

    answer: str = Field(description="The text, with [n] markers pointing at citations")
    citations: list[Citation]
    answerer: Answerer = Field(description="llm, or extractive (deterministic, no LLM)")
    query_id: uuid.UUID | None = Field(default=None, description="The query-history entry")
    blocked: bool = False


class Summary(Chained):
    documents: list[uuid.UUID] = Field(description="The documents the summary draws on")


class Point(BaseModel):
    text: str
    citations: list[int] = Field(description="Citation numbers supporting the point")


class Comparison(Chained):
    similarities: list[Point]
    differences: list[Point]


class FieldSource(BaseModel):
    citation: int
    chunk_id: int
    snippet: str


class Extraction(BaseModel):
    values: dict[str, Any] = Field(description="The extracted object")
    valid: bool = Field(description="Whether values validate against the given JSON schema")
    errors: list[str] = Field(description="Validation errors, if any")
    sources: dict[str, FieldSource] = Field(description="The passage each field came from")
    citations: list[Citation]
    answerer: Answerer
    query_id: uuid.UUID | None = None
    blocked: bool = False


class PartAnswer(BaseModel):
    question: str
    answer: str = Field(description="With [n] markers numbered like the combined citations")
    citations: list[int]


class MultipartAnswer(Chained):
    parts: list[PartAnswer]
    decomposed_by: Answerer = Field(description="Who split the question into parts")
