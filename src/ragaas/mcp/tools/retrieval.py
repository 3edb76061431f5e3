"""Retrieval tools: search, ask, get_document, list_sources.

``search`` and ``ask`` run exactly like ``POST /v1/search`` and ``POST /v1/chat``: the caller's
RAG configuration and rules apply, and the query lands in the query history.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field

from ragaas.auth.permissions import Permission
from ragaas.documents.repository import DocumentRepository
from ragaas.documents.schemas import DocumentOut
from ragaas.generation.schemas import ChatRequest
from ragaas.mcp.access import Toolbox
from ragaas.mcp.calls import tool_call
from ragaas.mcp.schemas import AnswerOut, ChunkInfo, DocumentWithChunks, SearchOut, SourcesOut
from ragaas.models import DataSource
from ragaas.retrieval.guarded import guarded_search
from ragaas.retrieval.schemas import SearchFilters, SearchMode, SearchRequest
from ragaas.sources import service as sources

Query = Annotated[str, Field(min_length=1, max_length=4000, description="The question or query")]
Labels = Annotated[
    list[str] | None, Field(description="Only documents carrying all of these labels")
]
Config = Annotated[
    str | None,
    Field(description="A RAG configuration's name; default: the organisation's default"),
]
Mode = Annotated[SearchMode | None, Field(description="hybrid (default), dense or lexical")]


def explicit(**fields: Any) -> dict[str, Any]:
    """Only the arguments the caller gave: unset ones leave the RAG configuration in charge."""
    return {name: value for name, value in fields.items() if value is not None}


def filters(labels: list[str] | None) -> dict[str, Any]:
    return {"filters": SearchFilters(labels=labels)} if labels else {}


def register(box: Toolbox) -> None:
    services = box.services

    @box.tool(Permission.QUERY, title="Search the knowledge base")
    async def search(
        query: Query,
        top_k: Annotated[
            int | None, Field(ge=1, le=100, description="Results (default 10)")
        ] = None,
        mode: Mode = None,
        labels: Labels = None,
        config: Config = None,
    ) -> SearchOut:
        """Find the organisation's most relevant passages (chunks) for a query, best first, with
        their document ids, titles, scores and text."""
        body = SearchRequest(
            query=query, **explicit(top_k=top_k, mode=mode, config=config), **filters(labels)
        )
        async with tool_call(services, metered=True) as call:
            found = await guarded_search(
                call.session, call.principal, services.searcher, body, via="mcp"
            )
            await call.session.commit()
            return SearchOut(results=found.results, mode=found.mode, blocked=found.blocked)

    @box.tool(Permission.QUERY, title="Ask the knowledge base")
    async def ask(
        query: Query,
        top_k: Annotated[
            int | None, Field(ge=1, le=20, description="Passages to answer from (default 6)")
        ] = None,
        mode: Mode = None,
        labels: Labels = None,
        config: Config = None,
    ) -> AnswerOut:
        """Answer a question from the organisation's documents, with numbered [n] citations.
        Configurations and rules apply, and the question is recorded in the query history."""
        body = ChatRequest(
            query=query, **explicit(top_k=top_k, mode=mode, config=config), **filters(labels)
        )
        async with tool_call(services, metered=True) as call:
            response = await services.answerer.answer(call.session, call.principal, body)
            return AnswerOut(
                answer=response.answer,
                citations=response.citations,
                query_id=response.query_id,
                blocked=response.blocked,
                answerer=response.metrics.get("answerer"),
            )

    @box.tool(Permission.DATA_READ, title="Read a document")
    async def get_document(
        document_id: Annotated[uuid.UUID, Field(description="The document's id")],
    ) -> DocumentWithChunks:
        """A document's fields, ingestion status and its chunks in order."""
        async with tool_call(services) as call:
            repo = DocumentRepository(call.session, call.principal.organization_id)
            doc = await repo.get(document_id)
            chunks = [
                ChunkInfo(
                    id=c.id,
                    chunk_number=c.chunk_number,
                    content=c.content,
                    token_count=c.token_count,
                    metadata=c.metadata_,
                    embedded=embedded,
                )
                for c, embedded in await repo.chunks(document_id)
            ]
            out = DocumentOut.model_validate(doc)
            return DocumentWithChunks(**out.model_dump(), chunks=chunks)

    @box.tool(Permission.DATA_READ, title="List data sources")
    async def list_sources() -> SourcesOut:
        """The organisation's connected data sources (folders, databases, APIs...) with their
        document counts and last sync; secrets are masked."""
        async with tool_call(services) as call:
            repo = sources.DataSourceRepository(call.session, call.principal.organization_id)
            rows = await call.session.scalars(repo.base().order_by(DataSource.created_at))
            return SourcesOut(sources=[await sources.describe(call.session, s) for s in rows])
