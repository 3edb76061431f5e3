"""Fill NULL chunk vectors in batches across documents, then mark finished documents ready."""

from __future__ import annotations

import uuid

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.models import Chunk
from ragaas.runtime import Runtime

# Claimed rows stay locked while their batch is embedded: parallel jobs never embed a chunk twice.
_CLAIM = text(
    """
    SELECT c.id, c.document_id, c.content, d.title
    FROM chunks c JOIN documents d ON d.id = c.document_id
    WHERE c.embedding IS NULL
    ORDER BY c.id
    LIMIT :limit
    FOR UPDATE OF c SKIP LOCKED
    """
)
# A batch skips documents another transaction has locked: that may be a deletion waiting for
# this batch's chunks (documents/locks.py), and waiting for it here would close a cycle. The final
# sweep, which holds no chunks, waits for them.
_MARK_READY = """
    UPDATE documents SET status = 'ready', updated_at = now()
    WHERE id IN (
        SELECT d.id FROM documents d
        WHERE d.status = 'processing' AND d.chunk_count > 0
          AND (CAST(:ids AS uuid[]) IS NULL OR d.id = ANY(CAST(:ids AS uuid[])))
          AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id AND c.embedding IS NULL)
        FOR UPDATE {wait}
    )
"""
_MARK_BATCH_READY = text(_MARK_READY.format(wait="SKIP LOCKED"))
_MARK_ALL_READY = text(_MARK_READY.format(wait=""))


def passage_text(title: str, content: str) -> str:
    """What is embedded for a chunk: its document's title gives the passage its context."""
    if not title or content.startswith(title):
        return content
    return f"{title}\n{content}"


async def embed_pending(runtime: Runtime, batch_size: int = 256) -> int:
    """Embed every chunk still without a vector; returns how many were embedded."""
    total = 0
    while True:
        async with runtime.sessionmaker() as session:
            rows = (await session.execute(_CLAIM, {"limit": batch_size})).all()
            if not rows:
                break
            vectors = await runtime.embedder.embed([passage_text(r.title, r.content) for r in rows])
            params = [{"id": r.id, "embedding": v} for r, v in zip(rows, vectors, strict=True)]
            await session.execute(update(Chunk), params)
            await mark_ready(session, {r.document_id for r in rows})
            await session.commit()
            total += len(rows)
    async with runtime.sessionmaker() as session:
        # A final sweep: a document split across two concurrent batches is seen whole only here,
        # and one a batch skipped because another transaction held it is marked here.
        await mark_ready(session, None)
        await session.commit()
    return total


async def mark_ready(session: AsyncSession, document_ids: set[uuid.UUID] | None) -> None:
    """Mark processing documents whose chunks all have vectors as ready: those of a batch
    (``document_ids``, skipping any another transaction holds) or all (None, waiting for them)."""
    if document_ids is None:
        await session.execute(_MARK_ALL_READY, {"ids": None})
    else:
        await session.execute(_MARK_BATCH_READY, {"ids": [str(i) for i in document_ids]})
