"""Data operations (``data:write``): ingest text or a URL, delete a document, sync or re-index a
data source. Ingestion goes through ``documents.service.submit`` like ``POST /v1/documents``:
de-duplicated by content hash, chunked and embedded by the job worker in the background."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select

from ragaas.auth.permissions import Permission
from ragaas.documents import service as documents
from ragaas.documents.schemas import normalise_labels
from ragaas.errors import Unprocessable
from ragaas.jobs.queue import enqueue
from ragaas.mcp.access import Toolbox
from ragaas.mcp.calls import tool_call
from ragaas.mcp.fetch import fetch
from ragaas.mcp.schemas import Deleted, Ingested, Reindexed, SyncRequested
from ragaas.models import Document, DocumentStatus
from ragaas.quotas.service import Defaults
from ragaas.security.egress import EgressPolicy
from ragaas.sources import service as sources
from ragaas.sources.schemas import SyncRunOut

Labels = Annotated[list[str] | None, Field(description="Labels for filtering and rules")]
ExternalId = Annotated[
    str | None,
    Field(
        max_length=500,
        description="Your id for the document: submitting it again replaces the content",
    ),
]
SourceId = Annotated[uuid.UUID, Field(description="The data source's id (see list_sources)")]


def labels_of(labels: list[str] | None) -> list[str]:
    try:
        return normalise_labels(labels or [])
    except ValueError as exc:
        raise Unprocessable(f"labels: {exc}") from None


def ingested(submitted: documents.Submitted) -> Ingested:
    doc = submitted.document
    return Ingested(
        document_id=doc.id,
        title=doc.title,
        status=doc.status,
        duplicate=submitted.duplicate,
        replaced=submitted.replaced,
    )


def register(box: Toolbox) -> None:
    services = box.services

    @box.tool(Permission.DATA_WRITE, title="Ingest text", read_only=False)
    async def ingest_text(
        title: Annotated[str, Field(min_length=1, max_length=1000)],
        text: Annotated[str, Field(min_length=1, description="Plain text or Markdown")],
        labels: Labels = None,
        external_id: ExternalId = None,
        url: Annotated[str | None, Field(max_length=2000, description="Where it came from")] = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="A JSON object to filter on")
        ] = None,
    ) -> Ingested:
        """Add a text document to the knowledge base. It is searchable once a worker has chunked
        and embedded it (status queued -> ready; see get_document)."""
        async with tool_call(services) as call:
            upload = documents.Upload(
                data=text.encode(),
                title=title,
                content_type="text/markdown",
                external_id=external_id,
                url=url,
                metadata=metadata or {},
                labels=labels_of(labels),
            )
            submitted = await documents.submit(
                call.session,
                services.runtime.blobs,
                call.principal.organization_id,
                upload,
                services.settings.max_upload_bytes,
                Defaults.of(services.settings),
            )
            await call.session.commit()
            return ingested(submitted)

    @box.tool(
        Permission.DATA_WRITE, title="Ingest a web page or file", read_only=False, open_world=True
    )
    async def ingest_url(
        url: Annotated[str, Field(min_length=8, max_length=2000, description="http(s) URL")],
        title: Annotated[
            str | None, Field(max_length=1000, description="Default: the page's own title")
        ] = None,
        labels: Labels = None,
        external_id: Annotated[
            str | None, Field(max_length=500, description="Default: the URL")
        ] = None,
    ) -> Ingested:
        """Fetch a URL (HTML, text, Markdown, PDF or DOCX) and add it to the knowledge base;
        ingesting the same URL again replaces the document when its content changed."""
        async with tool_call(services) as call:
            egress = EgressPolicy.from_settings(services.settings)  # SSRF guard
            fetched = await fetch(url, services.settings.max_upload_bytes, egress)
            upload = documents.Upload(
                data=fetched.data,
                title=title,
                content_type=fetched.content_type,
                filename=fetched.filename,
                external_id=external_id or url,
                url=url,
                labels=labels_of(labels),
            )
            submitted = await documents.submit(
                call.session,
                services.runtime.blobs,
                call.principal.organization_id,
                upload,
                services.settings.max_upload_bytes,
                Defaults.of(services.settings),
            )
            await call.session.commit()
            return ingested(submitted)

    @box.tool(Permission.DATA_WRITE, title="Delete a document", read_only=False, destructive=True)
    async def delete_document(
        document_id: Annotated[uuid.UUID, Field(description="The document's id")],
    ) -> Deleted:
        """Delete a document, its chunks and its stored file."""
        async with tool_call(services) as call:
            doc = await documents.delete(call.session, call.principal, document_id)
            await call.session.commit()
        await services.runtime.blobs.delete(doc.blob_key)
        return Deleted(document_id=doc.id, title=doc.title)

    @box.tool(Permission.DATA_WRITE, title="Sync a data source", read_only=False)
    async def sync_source(source_id: SourceId) -> SyncRequested:
        """Queue a sync of a data source now (or return the sync already queued or running)."""
        async with tool_call(services) as call:
            repo = sources.DataSourceRepository(call.session, call.principal.organization_id)
            run = await sources.request_sync(call.session, await repo.get(source_id), "manual")
            await call.session.commit()
            return SyncRequested(run=SyncRunOut.model_validate(run))

    @box.tool(Permission.DATA_WRITE, title="Re-index a data source", read_only=False)
    async def reindex_source(source_id: SourceId) -> Reindexed:
        """Re-chunk and re-embed every document of a data source from its stored content (after
        a chunking or embedding change): each goes back to queued and is ingested again."""
        async with tool_call(services) as call:
            org = call.principal.organization_id
            await sources.DataSourceRepository(call.session, org).get(source_id)
            found = await call.session.scalars(
                select(Document)
                .where(Document.organization_id == org, Document.data_source_id == source_id)
                .order_by(Document.created_at)
                .with_for_update()
            )
            docs = list(found)
            for doc in docs:
                doc.status, doc.error = DocumentStatus.QUEUED, None
                # In the same transaction: a document is queued if and only if its job exists.
                await enqueue(call.session, documents.INGEST_TASK, {"document_id": str(doc.id)})
            await call.session.commit()
            return Reindexed(data_source_id=source_id, documents=len(docs))
