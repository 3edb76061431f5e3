"""A job left `doing` by a worker that died is requeued and then completed."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from ragaas.jobs.maintenance import requeue_stalled
from ragaas.runtime import Runtime


async def test_stalled_embedding_job_is_requeued_and_runs(client: object, runtime: Runtime) -> None:
    async with runtime.engine.begin() as connection:
        job_id = await connection.scalar(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args)"
                " VALUES ('embeddings', 'chunks.embed', 'doing', '{}') RETURNING id"
            )
        )
    assert await requeue_stalled(runtime.jobs) >= 1
    status = None
    for _ in range(200):
        async with runtime.engine.connect() as connection:
            status = await connection.scalar(
                text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
        if status == "succeeded":
            break
        await asyncio.sleep(0.1)
    assert status == "succeeded"
