"""Named RAG configurations: every pipeline parameter an organisation can set without code."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ragaas.retrieval.schemas import SearchFilters, SearchMode

PROMPT_FIELDS = ("{question}", "{sources}")


class RagParams(BaseModel):
    """A configuration's parameters; unset ones fall back to the server's settings."""

    model_config = ConfigDict(extra="forbid")

    mode: SearchMode | None = None
    lexical_weight: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Weight of BM25 in hybrid fusion."
    )
    candidates: int | None = Field(default=None, ge=1, le=500, description="Per retriever.")
    top_k: int | None = Field(default=None, ge=1, le=100, description="Passages returned/used.")
    filters: SearchFilters | None = Field(
        default=None, description="Always applied, in addition to the request's filters."
    )
    rerank: bool | None = Field(default=None, description="Use the configured reranker.")
    rerank_depth: int | None = Field(default=None, ge=1, le=200)
    context_window: int | None = Field(
        default=None, ge=0, le=3, description="Neighbouring chunks added around each passage."
    )
    llm_model: str | None = Field(default=None, max_length=200)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=16, le=8192)
    system_prompt: str | None = Field(
        default=None,
        max_length=8000,
        description="Replaces the system prompt; may use {question} and {sources}.",
    )
    citation_style: Literal["numeric", "none"] | None = Field(
        default=None, description="numeric: [n] markers and citations; none: plain answer."
    )
    answer_language: str | None = Field(
        default=None, max_length=40, description="e.g. 'French': answers are written in it."
    )

    @field_validator("system_prompt")
    @classmethod
    def _known_placeholders(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            value.format(question="", sources="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"system_prompt may only use the placeholders {{question}} and {{sources}}: {exc}"
            ) from None
        return value


class RagConfigCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
    params: RagParams = Field(default_factory=RagParams)
    is_default: bool = False


class RagConfigUpdate(BaseModel):
    params: RagParams | None = Field(default=None, description="The whole new parameter set.")
    is_default: bool | None = None


class RagConfigOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    version: int
    is_default: bool
    params: RagParams
    created_at: datetime
