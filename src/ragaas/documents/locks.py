"""Deleting documents without deadlocking the embedding job or an ingestion.

The embedding job (ingestion/embedding.py) claims chunks with ``FOR UPDATE SKIP LOCKED`` and holds
them while it embeds; it then updates them, and that statement's trigger updates the organisation's
``lexical_stats`` row. A deletion that reached those chunks through the cascade would wait for
them while holding the stats row (updated by the chunks it already deleted) — a cycle, which
PostgreSQL breaks by aborting one side (40P01: a 503 for the API, a failed job attempt).

So every path that deletes documents calls :func:`lock_for_deletion` first, before any other write
that could conflict, and waits only while holding nothing the others wait for:

1. the documents' chunks, in id order: it waits for the job (which never waits for a chunk) and for
   an ingestion replacing a document's chunks, holding only chunks;
2. the documents themselves: from then on no ingestion can add chunks to them (the foreign key
   check needs the document row);
3. the chunks again, for those an ingestion committed between 1 and 2. It may wait for the job
   while holding the documents: the job's batches skip documents another transaction holds.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.models import Chunk, Document


async def lock_for_deletion(session: AsyncSession, documents: ColumnElement[bool]) -> None:
    """Lock the documents matching ``documents`` and their chunks, in the order above."""
    chunks = (
        select(Chunk.id)
        .where(Chunk.document_id.in_(select(Document.id).where(documents)))
        .order_by(Chunk.id)
        .with_for_update(of=Chunk)
    )
    await session.execute(chunks)
    await session.execute(
        select(Document.id).where(documents).order_by(Document.id).with_for_update()
    )
    await session.execute(chunks)
