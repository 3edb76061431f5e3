"""Deleting documents whose chunks the embedding job is embedding at that moment: no deadlock.

The real worker's `chunks.embed` job is held inside the embedder, while it holds the chunks it
claimed; the deletion is sent, PostgreSQL is seen making it wait for a lock, and only then does the
job go on to update the chunks and mark their documents ready (documents/locks.py). Before the
deletions locked the chunks first, the deletion held the document the job then wanted, and
PostgreSQL aborted one of the two (40P01): a 503 for the API, or a failed job attempt.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ragaas.runtime import Runtime
from tests.conftest import Tenant
from tests.sources.helpers import create_source

TEXT = "Sea otters hold hands while they sleep so that they do not drift apart.\n\n" * 40


class HeldEmbedder:
    """The runtime's embedder, held at the door until the test lets it through."""

    def __init__(self, runtime: Runtime) -> None:
        self.inner = runtime.embedder
        self.name, self.dimensions = self.inner.name, self.inner.dimensions
        self.entered, self.released = asyncio.Event(), asyncio.Event()

    async def embed(self, texts: list[str]) -> list[list[float]]:
        self.entered.set()
        await self.released.wait()
        return await self.inner.embed(texts)


@pytest.fixture
async def held(runtime: Runtime) -> AsyncIterator[HeldEmbedder]:
    embedder = HeldEmbedder(runtime)
    runtime.embedder = embedder
    try:
        yield embedder
    finally:
        embedder.released.set()
        runtime.embedder = embedder.inner


async def _embedding_jobs(runtime: Runtime) -> list[int]:
    async with runtime.engine.connect() as connection:
        jobs = await connection.scalars(
            text(
                "SELECT id FROM procrastinate_jobs"
                " WHERE task_name = 'chunks.embed' AND status = 'doing'"
            )
        )
        found = [int(job) for job in jobs]
    assert found
    return found


async def _until_waiting_for_a_lock(runtime: Runtime) -> None:
    for _ in range(300):
        async with runtime.engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the deletion never waited for the embedding job's chunks")


async def _job_outcome(runtime: Runtime, job_id: int) -> tuple[str, int]:
    for _ in range(600):
        async with runtime.engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT status, attempts FROM procrastinate_jobs WHERE id = :id"),
                    {"id": job_id},
                )
            ).one()
        if row.status != "doing":
            return str(row.status), int(row.attempts)
        await asyncio.sleep(0.05)
    raise AssertionError(f"embedding job {job_id} still running")


async def _lexical_stats_agree(runtime: Runtime, organization_id: uuid.UUID) -> None:
    async with runtime.engine.connect() as connection:
        kept, counted = (
            await connection.execute(
                text(
                    "SELECT (SELECT chunk_count FROM lexical_stats WHERE organization_id = :o),"
                    " (SELECT count(*) FROM chunks WHERE organization_id = :o)"
                ),
                {"o": organization_id},
            )
        ).one()
    assert kept == counted


async def _delete_while_embedding(
    runtime: Runtime,
    held: HeldEmbedder,
    start: Callable[[], Awaitable[None]],
    delete: Callable[[], Awaitable[httpx.Response]],
) -> httpx.Response:
    await start()
    await asyncio.wait_for(held.entered.wait(), 60)  # the job holds the new chunks now
    jobs = await _embedding_jobs(runtime)
    deletion = asyncio.create_task(delete())
    await _until_waiting_for_a_lock(runtime)
    held.released.set()
    response = await asyncio.wait_for(deletion, 60)
    assert [await _job_outcome(runtime, job) for job in jobs] == [("succeeded", 1)] * len(jobs)
    return response


async def test_document_deleted_while_its_chunks_are_embedded(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, held: HeldEmbedder
) -> None:
    document_id = ""

    async def start() -> None:
        nonlocal document_id
        files = {"file": ("otters.txt", TEXT.encode(), "text/plain")}
        response = await client.post("/v1/documents", headers=tenant.headers, files=files)
        assert response.status_code == 202, response.text
        document_id = response.json()["id"]

    async def delete() -> httpx.Response:
        return await client.delete(f"/v1/documents/{document_id}", headers=tenant.headers)

    response = await _delete_while_embedding(runtime, held, start, delete)
    assert response.status_code == 204, response.text
    gone = await client.get(f"/v1/documents/{document_id}", headers=tenant.headers)
    assert gone.status_code == 404
    await _lexical_stats_agree(runtime, tenant.organization_id)


async def test_source_deleted_while_its_chunks_are_embedded(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, held: HeldEmbedder
) -> None:
    folder = runtime.settings.source_folder_roots[0] / uuid.uuid4().hex
    folder.mkdir()
    for n in range(3):
        (folder / f"otters-{n}.txt").write_text(f"Otter {n}.\n\n{TEXT}")
    source: dict[str, Any] = {}

    async def start() -> None:
        source.update(
            await create_source(
                client, tenant, name="Otters", type="file", config={"path": str(folder)}
            )
        )
        synced = await client.post(f"/v1/data-sources/{source['id']}/sync", headers=tenant.headers)
        assert synced.status_code == 202, synced.text

    async def delete() -> httpx.Response:
        return await client.delete(f"/v1/data-sources/{source['id']}", headers=tenant.headers)

    response = await _delete_while_embedding(runtime, held, start, delete)
    assert response.status_code == 204, response.text
    listed = await client.get("/v1/documents", headers=tenant.headers)
    assert listed.json()["items"] == []
    await _lexical_stats_agree(runtime, tenant.organization_id)
