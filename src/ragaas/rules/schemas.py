"""Rules: a CEL condition, an action, a stage and a priority; and the dry-run request."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ragaas.rules.conditions import ConditionError, compile_condition
from ragaas.rules.pii import KINDS, PiiKind


class Stage(StrEnum):
    BEFORE_RETRIEVAL = "before_retrieval"
    AFTER_RETRIEVAL = "after_retrieval"
    AFTER_GENERATION = "after_generation"


class RuleType(StrEnum):
    GUARDRAIL = "guardrail"
    BUSINESS_LOGIC = "business_logic"
    FILTER = "filter"


class Block(BaseModel):
    """Stop the query: the caller gets ``message``; the query is recorded as blocked."""

    type: Literal["block"]
    message: str = Field(min_length=1, max_length=1000)


class Redact(BaseModel):
    """Replace personal data with [REDACTED:kind] in the query (before it is used or stored)
    and/or in the answer."""

    type: Literal["redact"]
    targets: list[Literal["query", "answer"]] = Field(default=["query", "answer"], min_length=1)
    kinds: list[PiiKind] = Field(default_factory=lambda: list(KINDS), min_length=1)


class Restrict(BaseModel):
    """Narrow retrieval: only documents with all of ``labels`` / containing ``metadata``, and none
    with ``exclude_labels``."""

    type: Literal["restrict"]
    labels: list[str] = Field(default_factory=list)
    exclude_labels: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something(self) -> Restrict:
        if not (self.labels or self.exclude_labels or self.metadata):
            raise ValueError("restrict needs labels, exclude_labels or metadata")
        return self


class SwitchConfig(BaseModel):
    """Run the query under another RAG configuration."""

    type: Literal["switch_config"]
    config: str = Field(min_length=1, max_length=200)


class Instruct(BaseModel):
    """Add an instruction to the answerer's system prompt."""

    type: Literal["instruct"]
    text: str = Field(min_length=1, max_length=2000)


class RequireCitations(BaseModel):
    """Refuse an answer that cites no source (replace it with ``message``)."""

    type: Literal["require_citations"]
    message: str = Field(
        default="I can only answer with a cited source, and none supports an answer here.",
        max_length=1000,
    )


class CapLength(BaseModel):
    """Cut the answer to at most ``max_chars`` characters (at a word boundary)."""

    type: Literal["cap_length"]
    max_chars: int = Field(ge=20, le=100_000)


Action = Annotated[
    Block | Redact | Restrict | SwitchConfig | Instruct | RequireCitations | CapLength,
    Field(discriminator="type"),
]

# Which actions make sense where: retrieval can only be shaped before it happens, an answer only
# after it exists.
ALLOWED: dict[Stage, set[str]] = {
    Stage.BEFORE_RETRIEVAL: {"block", "redact", "restrict", "switch_config", "instruct"},
    Stage.AFTER_RETRIEVAL: {"block", "instruct"},
    Stage.AFTER_GENERATION: {"block", "redact", "require_citations", "cap_length"},
}


class RuleBase(BaseModel):
    condition: str = Field(min_length=1, max_length=4000, description="A CEL expression.")

    @field_validator("condition")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compile_condition(value)
        except ConditionError as exc:
            raise ValueError(f"invalid CEL condition: {exc}") from None
        return value


class RuleCreate(RuleBase):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: RuleType
    stage: Stage = Stage.BEFORE_RETRIEVAL
    action: Action
    priority: int = Field(default=100, ge=0, le=10_000, description="Lower runs first.")
    active: bool = True

    @model_validator(mode="after")
    def _action_fits_stage(self) -> RuleCreate:
        check_stage(self.stage, self.action.type)
        return self


def check_stage(stage: Stage, action: str) -> None:
    if action not in ALLOWED[stage]:
        allowed = ", ".join(sorted(ALLOWED[stage]))
        raise ValueError(f"action {action!r} cannot run at {stage.value}; there: {allowed}")


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    condition: str | None = Field(default=None, min_length=1, max_length=4000)
    stage: Stage | None = None
    action: Action | None = None
    priority: int | None = Field(default=None, ge=0, le=10_000)
    active: bool | None = None

    @field_validator("condition")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return None if value is None else RuleBase._compiles(value)


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    type: RuleType
    stage: Stage
    condition: str
    action: dict[str, Any]
    priority: int
    active: bool
    created_at: datetime


class SampleChunk(BaseModel):
    title: str = ""
    labels: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class RuleTest(BaseModel):
    """A dry run: the rules against a sample query, user and (optionally) chunks and answer."""

    query: str = Field(min_length=1, max_length=4000)
    user_id: uuid.UUID | None = Field(default=None, description="Default: the caller.")
    config: str | None = None
    chunks: list[SampleChunk] = Field(default_factory=list)
    answer: str | None = None
    cited: int = Field(default=0, ge=0, description="How many citations the sample answer has.")
