"""Documents as MCP resources: ``ragaas://documents/{id}`` is a document's text (its chunks in
order), and ``resources/list`` lists the caller's ready documents, newest first, a page at a time.

Both need the ``data:read`` scope (checked by ``AccessGate``); a caller without it lists nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, Resource

from ragaas.documents.repository import DocumentRepository
from ragaas.errors import NotFound
from ragaas.mcp.access import RESOURCE_PERMISSION, current_principal
from ragaas.mcp.services import Services
from ragaas.models import DocumentStatus

PREFIX = "ragaas://documents/"
TEMPLATE = PREFIX + "{document_id}"
PAGE_SIZE = 100
MIME_TYPE = "text/markdown"


def uri(document_id: uuid.UUID) -> str:
    return f"{PREFIX}{document_id}"


async def document_text(services: Services, document_id: str) -> str:
    """The document's title and chunks in order (the caller's organisation only)."""
    try:
        doc_id = uuid.UUID(document_id)
    except ValueError:
        raise ResourceNotFoundError(f"{document_id!r} is not a document id") from None
    principal = current_principal()
    async with services.runtime.tenant_session(principal.organization_id) as session:
        repo = DocumentRepository(session, principal.organization_id)
        try:
            doc = await repo.get(doc_id)
        except NotFound as exc:
            raise ResourceNotFoundError(exc.message) from None
        chunks = [chunk.content for chunk, _ in await repo.chunks(doc_id)]
    if not chunks:
        return f"# {doc.title}\n\n(This document has no text yet: its status is {doc.status}.)"
    return f"# {doc.title}\n\n" + "\n\n".join(chunks)


def register(server: MCPServer, services: Services) -> None:
    async def read_document(document_id: str) -> str:
        return await document_text(services, document_id)

    server.resource(
        TEMPLATE,
        name="document",
        title="Document",
        description="A document's text: its chunks in order, under its title",
        mime_type=MIME_TYPE,
    )(read_document)


@dataclass
class DocumentListing:
    """Server middleware answering ``resources/list`` with the caller's documents."""

    services: Services

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "resources/list" or not isinstance(result, dict):
            return result
        principal = current_principal()
        if not principal.can(RESOURCE_PERMISSION):
            return result
        offset = _offset((ctx.params or {}).get("cursor"))
        async with self.services.runtime.tenant_session(principal.organization_id) as session:
            repo = DocumentRepository(session, principal.organization_id)
            docs, total = await repo.page(
                repo.filtered(status=DocumentStatus.READY), PAGE_SIZE, offset
            )
        result["resources"] = [
            Resource(
                uri=uri(d.id),
                name=d.title,
                description=f"{d.chunk_count} chunks" + (f" from {d.url}" if d.url else ""),
                mime_type=MIME_TYPE,
            ).model_dump(by_alias=True, mode="json", exclude_none=True)
            for d in docs
        ]
        if offset + len(docs) < total:
            result["nextCursor"] = str(offset + len(docs))
        else:
            result.pop("nextCursor", None)
        return result


def _offset(cursor: object) -> int:
    if cursor is None:
        return 0
    if isinstance(cursor, str) and cursor.isdigit():
        return int(cursor)
    raise MCPError(code=INVALID_PARAMS, message="invalid cursor")
