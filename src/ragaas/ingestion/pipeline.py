"""Parse and chunk a stored document into chunk rows (vectors are filled by the embedding job)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.ingestion.chunking import ChunkDraft, chunk_document, default_token_counter
from ragaas.ingestion.parsers import ParseError, parse_document
from ragaas.models import Chunk, Document, DocumentStatus
from ragaas.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class ParsedResult:
    title: str | None
    chunks: list[ChunkDraft]


def parse_and_chunk(doc: Document, data: bytes, max_tokens: int, overlap: int) -> ParsedResult:
    """CPU-bound part of ingestion, run in a worker thread."""
    parsed = parse_document(doc.filename, doc.content_type, data)
    chunks = chunk_document(parsed, default_token_counter(), max_tokens, overlap)
    return ParsedResult(parsed.title, chunks)


async def ingest_document(runtime: Runtime, document_id: uuid.UUID) -> None:
    """Turn a queued document into chunk rows; a bad file ends ``failed`` with the reason."""
    async with runtime.sessionmaker() as session:
        doc = await session.get(Document, document_id)
        if doc is None:
            return  # deleted before the job ran
        begin_processing(doc)
        await session.commit()
        try:
            data = await runtime.blobs.get(doc.blob_key)
            settings = runtime.settings
            result = await asyncio.to_thread(
                parse_and_chunk, doc, data, settings.chunk_tokens, settings.chunk_overlap
            )
        except FileNotFoundError:
            await mark_failed(session, doc, "the stored file is missing; upload it again")
            return
        except ParseError as exc:
            await mark_failed(session, doc, str(exc))
            return
        await _replace_chunks(session, doc, result)
        await session.commit()


def begin_processing(doc: Document) -> None:
    """Mark the document as being (re-)ingested. Its chunk count goes to 0 until the new chunks
    are written: the embedding jobs mark a document ready only when it has chunks and all have
    vectors, and the old chunks of a re-ingested document all have vectors already."""
    doc.status, doc.error, doc.chunk_count = DocumentStatus.PROCESSING, None, 0


async def mark_failed(session: AsyncSession, doc: Document, reason: str) -> None:
    """Record why a document could not be ingested."""
    log.info("document %s failed: %s", doc.id, reason)
    doc.status, doc.error = DocumentStatus.FAILED, reason
    await session.commit()


async def _replace_chunks(session: AsyncSession, doc: Document, result: ParsedResult) -> None:
    # Replacing in one transaction means searches see either the old chunks or the new ones.
    # The DELETE is the transaction's first write, so waiting here for chunks the embedding job
    # holds cannot deadlock with it (documents/locks.py).
    await session.execute(delete(Chunk).where(Chunk.document_id == doc.id))
    rows: list[dict[str, Any]] = [
        {
            "organization_id": doc.organization_id,
            "document_id": doc.id,
            "chunk_number": number,
            "content": draft.content,
            "token_count": draft.token_count,
            "metadata_": draft.metadata,
            "embedding": None,
        }
        for number, draft in enumerate(result.chunks)
    ]
    if not rows:
        doc.status, doc.error = DocumentStatus.FAILED, "the document contains no text"
        return
    # Inserting NULL vectors fires the trigger that enqueues the `chunks.embed` job.
    await session.execute(insert(Chunk), rows)
    if result.title and doc.title in (doc.filename, "Untitled"):
        doc.title = result.title[:1000]
    doc.chunk_count = len(rows)
