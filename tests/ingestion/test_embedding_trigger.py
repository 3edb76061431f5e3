"""A chunk written with a NULL vector, by any SQL client, gets embedded by the worker."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from ragaas.ingestion.embedding import mark_ready
from ragaas.ingestion.pipeline import begin_processing
from ragaas.models import Document
from ragaas.runtime import Runtime
from tests.conftest import Tenant, wait_for_document


async def test_plain_sql_insert_is_embedded_and_searchable(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    created = await client.post(
        "/v1/documents", json={"title": "Notes", "text": "Initial note."}, headers=tenant.headers
    )
    doc = await wait_for_document(client, tenant.headers, created.json()["id"])
    async with runtime.engine.connect() as connection:
        await connection.execute(
            text(
                "INSERT INTO chunks (organization_id, document_id, chunk_number, content,"
                " token_count, metadata) VALUES (:org, :doc, 99, :content, 0, '{}')"
            ),
            {
                "org": tenant.organization_id,
                "doc": doc["id"],
                "content": "Penguins huddle together to survive the Antarctic winter.",
            },
        )
        await connection.commit()

    dims = None
    for _ in range(300):
        async with runtime.engine.connect() as connection:
            dims = await connection.scalar(
                text(
                    "SELECT vector_dims(embedding) FROM chunks"
                    " WHERE document_id = :doc AND chunk_number = 99"
                ),
                {"doc": doc["id"]},
            )
        if dims is not None:
            break
        await asyncio.sleep(0.1)
    assert dims is not None, "the trigger-enqueued job did not embed the chunk"
    assert dims == 384

    found = await client.post(
        "/v1/search",
        json={"query": "how do penguins survive the cold", "mode": "dense"},
        headers=tenant.headers,
    )
    assert found.json()["results"][0]["content"].startswith("Penguins")


async def test_a_reingested_document_is_not_ready_before_its_new_chunks_exist(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    """The embedding jobs' ready sweep runs at any time; between the commit that marks a
    document processing and the one that replaces its chunks, the old chunks (all embedded)
    must not make it ready again (seen as a flaky sync test: ready, but still the old text)."""
    created = await client.post(
        "/v1/documents",
        json={"title": "Invoices", "text": "Invoices are under Billing."},
        headers=tenant.headers,
    )
    doc_id = (await wait_for_document(client, tenant.headers, created.json()["id"]))["id"]
    async with runtime.sessionmaker() as session:
        doc = await session.get(Document, doc_id)
        assert doc is not None
        begin_processing(doc)  # what ingest_document commits before parsing the new content
        await session.commit()
        await mark_ready(session, None)  # a concurrent embedding job's final sweep
        await session.commit()
        await session.refresh(doc)
        assert doc.status == "processing"
