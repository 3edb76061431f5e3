"""Bodies of /v1/queries and /v1/analytics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class QueryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    kind: str
    query: str
    answer: str | None
    config_name: str | None
    blocked: bool
    rating: int | None
    feedback_comment: str | None


class QueryDetail(QueryOut):
    citations: list[dict[str, Any]]
    metrics: dict[str, Any] = Field(
        description="timings_ms per stage, tokens_in/out, cost, results, rules that fired"
    )


class Feedback(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=4000)
