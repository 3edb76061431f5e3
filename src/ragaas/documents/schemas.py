"""Document bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

Label = str


class DocumentCreate(BaseModel):
    """A document given as JSON text."""

    title: str = Field(min_length=1, max_length=1000)
    text: str = Field(min_length=1, description="The document's text (plain text or Markdown)")
    external_id: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=2000)
    metadata: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        return normalise_labels(labels)


def normalise_labels(labels: list[str]) -> list[str]:
    """Trimmed, non-empty, unique, sorted; each at most 100 characters."""
    cleaned = {label.strip() for label in labels if label.strip()}
    if any(len(label) > 100 for label in cleaned):
        raise ValueError("a label is at most 100 characters")
    return sorted(cleaned)


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    data_source_id: uuid.UUID | None
    external_id: str | None
    title: str
    url: str | None
    filename: str | None
    content_type: str
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    labels: list[str]
    content_hash: str
    size_bytes: int
    status: str
    error: str | None
    chunk_count: int
    created_at: datetime
    updated_at: datetime


class DocumentAccepted(DocumentOut):
    duplicate: bool = Field(
        default=False, description="True when identical content was already ingested"
    )


class ChunkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    chunk_number: int
    content: str
    token_count: int
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    embedded: bool
