"""/v1/documents: submit, list, read, delete."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from ragaas.audit import record
from ragaas.auth.dependencies import DataRead, DataWrite
from ragaas.db import Session
from ragaas.documents import service
from ragaas.documents.repository import DocumentRepository
from ragaas.documents.schemas import ChunkOut, DocumentAccepted, DocumentCreate, DocumentOut
from ragaas.documents.upload import read_upload
from ragaas.kit.pagination import Page, Pagination
from ragaas.openapi import problem_responses
from ragaas.quotas.service import Defaults

router = APIRouter(prefix="/v1/documents", tags=["documents"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": {"type": "string"},
                        "external_id": {"type": "string"},
                        "url": {"type": "string"},
                        "labels": {"type": "string", "description": "Comma-separated"},
                        "metadata": {"type": "string", "description": "A JSON object"},
                    },
                }
            },
            "application/json": {"schema": DocumentCreate.model_json_schema()},
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="documents_create",
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {"model": DocumentAccepted, "description": "Already submitted (duplicate: true)"},
        **problem_responses(413, 415, 422, 507),
    },
)
async def create_document(
    request: Request, principal: DataWrite, session: Session, response: Response
) -> DocumentAccepted:
    """Submit a file (multipart) or a JSON text document; it is ingested in the background."""
    runtime = request.app.state.runtime
    upload = await read_upload(request, runtime.settings.max_upload_bytes)
    submitted = await service.submit(
        session,
        runtime.blobs,
        principal.organization_id,
        upload,
        runtime.settings.max_upload_bytes,
        Defaults.of(runtime.settings),
    )
    await session.commit()
    if submitted.duplicate:
        response.status_code = status.HTTP_200_OK
    out = DocumentOut.model_validate(submitted.document).model_dump()
    return DocumentAccepted(**out, duplicate=submitted.duplicate)


@router.get("", operation_id="documents_list")
async def list_documents(
    principal: DataRead,
    session: Session,
    page: Pagination,
    status_: Annotated[str | None, Query(alias="status")] = None,
    label: Annotated[list[str] | None, Query()] = None,
    data_source_id: uuid.UUID | None = None,
    title: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[DocumentOut]:
    """List documents, newest first, filtered by status, labels, source or title."""
    repo = DocumentRepository(session, principal.organization_id)
    stmt = repo.filtered(status_, label, data_source_id, title)
    docs, total = await repo.page(stmt, page.limit, page.offset)
    items = [DocumentOut.model_validate(d) for d in docs]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{document_id}", operation_id="documents_get")
async def get_document(
    document_id: uuid.UUID, principal: DataRead, session: Session
) -> DocumentOut:
    """A document and its ingestion status (queued, processing, ready, failed + error)."""
    doc = await DocumentRepository(session, principal.organization_id).get(document_id)
    return DocumentOut.model_validate(doc)


@router.get("/{document_id}/chunks", operation_id="documents_chunks")
async def list_chunks(
    document_id: uuid.UUID, principal: DataRead, session: Session
) -> list[ChunkOut]:
    """The document's chunks in order."""
    repo = DocumentRepository(session, principal.organization_id)
    await repo.get(document_id)
    rows = await repo.chunks(document_id)
    return [
        ChunkOut(
            id=c.id,
            chunk_number=c.chunk_number,
            content=c.content,
            token_count=c.token_count,
            metadata_=c.metadata_,
            embedded=embedded,
        )
        for c, embedded in rows
    ]


@router.delete(
    "/{document_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="documents_delete"
)
async def delete_document(
    document_id: uuid.UUID, request: Request, principal: DataWrite, session: Session
) -> None:
    """Delete a document, its chunks and its stored file."""
    doc = await service.delete(session, principal, document_id)
    details = {"title": doc.title, "external_id": doc.external_id, "source_id": doc.data_source_id}
    record(session, principal, "document.delete", "document", doc.id, details, request)
    await session.commit()
    await request.app.state.runtime.blobs.delete(doc.blob_key)
