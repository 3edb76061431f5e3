"""Accepting documents for ingestion, with de-duplication by content hash."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth.principal import Principal
from ragaas.documents.locks import lock_for_deletion
from ragaas.documents.repository import DocumentRepository
from ragaas.errors import PayloadTooLarge
from ragaas.jobs.queue import enqueue
from ragaas.models import Document, DocumentStatus
from ragaas.providers.blobstore.base import BlobStore
from ragaas.quotas.service import Defaults, check_document

INGEST_TASK = "documents.ingest"


@dataclass
class Upload:
    data: bytes
    title: str | None  # None: keep the current title (or take the file's own title)
    content_type: str
    filename: str | None = None
    external_id: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    data_source_id: uuid.UUID | None = None


@dataclass
class Submitted:
    document: Document
    duplicate: bool  # the same content was already there: nothing to do
    replaced: bool = False  # new content for a known external id


async def submit(
    session: AsyncSession,
    blobs: BlobStore,
    organization_id: uuid.UUID,
    upload: Upload,
    max_bytes: int,
    quotas: Defaults | None = None,
) -> Submitted:
    """Store the raw bytes and queue ingestion; identical content already ingested does no work.
    With ``quotas``, new content past the organisation's document or storage quota is a 403."""
    if len(upload.data) > max_bytes:
        raise PayloadTooLarge(f"the document is {len(upload.data)} bytes; the limit is {max_bytes}")
    repo = DocumentRepository(session, organization_id)
    content_hash = hashlib.sha256(upload.data).hexdigest()
    if upload.external_id is not None:
        existing = await repo.by_external_id(upload.external_id, upload.data_source_id)
    else:
        existing = await repo.by_content_hash(content_hash)
    if existing is not None and _unchanged(existing, content_hash):
        _apply_descriptive_fields(existing, upload)
        await session.flush()
        return Submitted(existing, duplicate=True)
    if quotas is not None:
        await check_document(
            session,
            organization_id,
            quotas,
            new_document=existing is None,
            added_bytes=len(upload.data) - (existing.size_bytes if existing else 0),
        )
    doc = existing or repo.add(
        Document(id=uuid.uuid4(), blob_key="", title=upload.title or upload.filename or "Untitled")
    )
    _apply_descriptive_fields(doc, upload)
    doc.content_type = upload.content_type
    doc.filename = upload.filename
    doc.content_hash = content_hash
    doc.size_bytes = len(upload.data)
    doc.status, doc.error = DocumentStatus.QUEUED, None
    doc.blob_key = f"{organization_id}/{doc.id}/{content_hash}"
    await blobs.put(doc.blob_key, upload.data)
    await session.flush()
    await enqueue(session, INGEST_TASK, {"document_id": str(doc.id)})
    return Submitted(doc, duplicate=False, replaced=existing is not None)


def _unchanged(doc: Document, content_hash: str) -> bool:
    return doc.content_hash == content_hash and doc.status != DocumentStatus.FAILED


def _apply_descriptive_fields(doc: Document, upload: Upload) -> None:
    # Title, URL, labels and metadata do not change the chunks, so they update without re-ingesting.
    if upload.title:
        doc.title = upload.title
    doc.external_id = upload.external_id
    doc.url = upload.url
    doc.metadata_ = upload.metadata
    doc.labels = upload.labels
    doc.data_source_id = upload.data_source_id


async def delete(session: AsyncSession, principal: Principal, document_id: uuid.UUID) -> Document:
    """Delete a document; its chunks go with it (ON DELETE CASCADE)."""
    doc = await DocumentRepository(session, principal.organization_id).get(document_id)
    await lock_for_deletion(session, Document.id == doc.id)
    await session.delete(doc)
    await session.flush()
    return doc
