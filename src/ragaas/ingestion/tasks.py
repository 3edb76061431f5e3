"""Background jobs of the ingestion pipeline."""

from __future__ import annotations

import logging
import uuid

import procrastinate
from procrastinate import JobContext, RetryStrategy

from ragaas.ingestion.embedding import embed_pending
from ragaas.ingestion.pipeline import ingest_document, mark_failed
from ragaas.jobs.queue import EMBEDDINGS_QUEUE
from ragaas.models import Document
from ragaas.runtime import runtime_for

log = logging.getLogger(__name__)
INGEST_ATTEMPTS = 3


async def ingest(context: JobContext, document_id: str) -> None:
    """Parse and chunk one document."""
    runtime = runtime_for(context.app)
    try:
        await ingest_document(runtime, uuid.UUID(document_id))
    except Exception:
        log.exception("ingesting document %s failed", document_id)
        attempts = (context.job.attempts or 0) + 1
        if attempts >= INGEST_ATTEMPTS:
            # Out of retries: say so on the document instead of leaving it "processing".
            async with runtime.sessionmaker() as session:
                doc = await session.get(Document, uuid.UUID(document_id))
                if doc is not None:
                    await mark_failed(session, doc, "internal error during ingestion; see logs")
        raise


async def embed(context: JobContext) -> None:
    """Embed every chunk that has no vector yet (enqueued by a database trigger)."""
    count = await embed_pending(runtime_for(context.app))
    log.info("embedded %d chunks", count)


def register(app: procrastinate.App) -> None:
    """Declare this module's tasks on ``app``."""
    app.task(
        name="documents.ingest",
        pass_context=True,
        retry=RetryStrategy(max_attempts=INGEST_ATTEMPTS - 1, exponential_wait=2),
    )(ingest)
    app.task(
        name="chunks.embed",
        queue=EMBEDDINGS_QUEUE,
        pass_context=True,
        retry=RetryStrategy(max_attempts=5, exponential_wait=2),
    )(embed)
