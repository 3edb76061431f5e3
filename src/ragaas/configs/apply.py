"""Applying a RAG configuration to a request: explicit request fields > config > server settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.configs import service
from ragaas.configs.schemas import RagParams
from ragaas.retrieval.schemas import SearchFilters, SearchMode


@dataclass
class Resolved:
    """The configuration a query runs under (name and version None: the server's settings)."""

    name: str | None = None
    version: int | None = None
    params: RagParams = field(default_factory=RagParams)

    def record(self, metrics: dict[str, Any]) -> None:
        """Note the configuration in a query's metrics (the history keeps the version used)."""
        if self.name is not None:
            metrics["config"] = {"name": self.name, "version": self.version}


async def resolve(session: AsyncSession, organization_id: uuid.UUID, name: str | None) -> Resolved:
    """The named configuration (404 if unknown), else the organisation's default, else none."""
    row = await service.resolve(session, organization_id, name)
    if row is None:
        return Resolved()
    return Resolved(row.name, row.version, RagParams.model_validate(row.params))


@dataclass(frozen=True)
class Retrieval:
    """What to retrieve, after the request and the configuration are combined."""

    top_k: int
    mode: SearchMode
    filters: SearchFilters


class RetrievalRequest(Protocol):
    """A search or chat request body."""

    top_k: int
    mode: SearchMode
    filters: SearchFilters

    @property
    def model_fields_set(self) -> set[str]: ...


def retrieval_for(body: RetrievalRequest, params: RagParams) -> Retrieval:
    """Fields the caller set win; then the configuration; then the request's defaults."""
    explicit = body.model_fields_set
    top_k = body.top_k if "top_k" in explicit or params.top_k is None else params.top_k
    mode = body.mode if "mode" in explicit or params.mode is None else params.mode
    return Retrieval(top_k, mode, merge_filters(params.filters, body.filters))


def merge_filters(config: SearchFilters | None, request: SearchFilters) -> SearchFilters:
    """A configuration's filters always apply; the request can only narrow them further."""
    if config is None:
        return request

    def narrowed(a: list[uuid.UUID], b: list[uuid.UUID]) -> list[uuid.UUID]:
        if a and b:
            return [x for x in a if x in set(b)] or [uuid.UUID(int=0)]  # disjoint: match nothing
        return a or b

    return SearchFilters(
        labels=sorted(set(config.labels) | set(request.labels)),
        exclude_labels=sorted(set(config.exclude_labels) | set(request.exclude_labels)),
        data_source_ids=narrowed(config.data_source_ids, request.data_source_ids),
        document_ids=narrowed(config.document_ids, request.document_ids),
        metadata={**request.metadata, **config.metadata},
    )
