"""The procrastinate app, and enqueueing inside the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Tasks register on this app; ``make_job_app`` binds it to the database once the URL is known.
job_app = procrastinate.App(connector=procrastinate.PsycopgConnector())

DEFAULT_QUEUE = "default"
EMBEDDINGS_QUEUE = "embeddings"

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, :queueing_lock, "
    "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])"
)


def make_job_app(libpq_url: str) -> procrastinate.App:
    """The task app bound to ``libpq_url`` through its own small connection pool."""
    import ragaas.jobs.registry  # noqa: F401  (registers every task module)

    connector = procrastinate.PsycopgConnector(conninfo=libpq_url, min_size=1, max_size=4)
    return job_app.with_connector(connector)


async def enqueue(
    session: AsyncSession,
    task: str,
    args: dict[str, Any],
    *,
    queue: str = DEFAULT_QUEUE,
    queueing_lock: str | None = None,
) -> None:
    """Enqueue ``task`` in the session's transaction: the job exists iff the write commits."""
    params = {
        "queue": queue,
        "task": task,
        "queueing_lock": queueing_lock,
        "args": json.dumps(args),
    }
    await session.execute(_DEFER, params)
