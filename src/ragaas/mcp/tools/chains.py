"""LLM-chain tools: summarise, compare, extract fields, answer multi-part questions.

With an LLM configured they use it; without one (the default) each still answers
deterministically from the retrieved passages and says ``"answerer": "extractive"``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field

from ragaas.auth.permissions import Permission
from ragaas.documents.repository import DocumentRepository
from ragaas.errors import Unprocessable
from ragaas.mcp.access import Toolbox
from ragaas.mcp.calls import tool_call
from ragaas.mcp.chains.compare import Side, compare
from ragaas.mcp.chains.extract import extract, fields_of
from ragaas.mcp.chains.grounding import Grounding
from ragaas.mcp.chains.multipart import answer_multipart as multipart
from ragaas.mcp.chains.summarize import summarize
from ragaas.mcp.schemas import Comparison, Extraction, MultipartAnswer, Summary

MAX_DOCUMENTS = 10
Config = Annotated[
    str | None,
    Field(description="A RAG configuration's name; default: the organisation's default"),
]
DocumentId = Annotated[uuid.UUID, Field(description="A document's id")]


def register(box: Toolbox) -> None:
    services = box.services

    @box.tool(Permission.QUERY, Permission.DATA_READ, title="Summarise documents")
    async def summarize_documents(
        document_ids: Annotated[
            list[uuid.UUID] | None,
            Field(max_length=MAX_DOCUMENTS, description="Documents to summarise"),
        ] = None,
        query: Annotated[
            str | None,
            Field(
                min_length=1,
                max_length=4000,
                description="What to summarise: a topic to search for, or the focus within "
                "document_ids",
            ),
        ] = None,
        max_passages: Annotated[int, Field(ge=1, le=20, description="Passages to read")] = 8,
        config: Config = None,
    ) -> Summary:
        """A summary of the given documents, or of what the knowledge base says about a query,
        citing its sources as [n]."""
        ids = list(dict.fromkeys(document_ids or []))
        async with tool_call(services, metered=True) as call:
            if not ids and not query:
                raise Unprocessable("give document_ids, a query, or both")
            repo = DocumentRepository(call.session, call.principal.organization_id)
            titles = [(await repo.get(i)).title for i in ids]
            asked = query or "Summarise: " + "; ".join(titles)
            g = await Grounding.start(call, "summarize_documents", asked, config)
            return await summarize(g, ids, query, max_passages)

    @box.tool(Permission.QUERY, Permission.DATA_READ, title="Compare two documents")
    async def compare_documents(
        document_a: DocumentId,
        document_b: DocumentId,
        aspect: Annotated[
            str | None, Field(max_length=1000, description="What to compare them on")
        ] = None,
        passages: Annotated[int, Field(ge=1, le=10, description="Passages per document")] = 4,
        config: Config = None,
    ) -> Comparison:
        """Similarities and differences between two documents, each point citing [n] sources."""
        async with tool_call(services, metered=True) as call:
            if document_a == document_b:
                raise Unprocessable("document_a and document_b must be different documents")
            repo = DocumentRepository(call.session, call.principal.organization_id)
            a = Side(document_a, (await repo.get(document_a)).title)
            b = Side(document_b, (await repo.get(document_b)).title)
            asked = f"Compare '{a.title}' with '{b.title}'" + (f" on {aspect}" if aspect else "")
            g = await Grounding.start(call, "compare_documents", asked, config)
            return await compare(g, a, b, aspect, passages)

    @box.tool(Permission.QUERY, Permission.DATA_READ, title="Extract fields from a document")
    async def extract_fields(
        document_id: DocumentId,
        fields_schema: Annotated[
            dict[str, Any],
            Field(
                description='A JSON schema of the fields, e.g. {"type": "object", "properties": '
                '{"owner": {"type": "string"}, "days": {"type": "integer"}}}'
            ),
        ],
        passages_per_field: Annotated[int, Field(ge=1, le=5)] = 3,
        config: Config = None,
    ) -> Extraction:
        """Fill a JSON object from a document, validated against the given JSON schema, with
        the source passage of each field."""
        async with tool_call(services, metered=True) as call:
            repo = DocumentRepository(call.session, call.principal.organization_id)
            title = (await repo.get(document_id)).title
            fields = ", ".join(fields_of(fields_schema))
            asked = f"Extract {fields} from '{title}'"
            g = await Grounding.start(call, "extract_fields", asked, config)
            return await extract(g, document_id, fields_schema, passages_per_field)

    @box.tool(Permission.QUERY, title="Answer a multi-part question")
    async def answer_multipart(
        question: Annotated[str, Field(min_length=1, max_length=4000)],
        config: Config = None,
    ) -> MultipartAnswer:
        """Split a question that asks several things into its parts, answer each from the
        documents with citations, and combine them into one answer."""
        async with tool_call(services, metered=True) as call:
            g = await Grounding.start(call, "answer_multipart", question, config)
            return await multipart(g)
