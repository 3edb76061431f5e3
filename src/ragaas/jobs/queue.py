"""The procrastinate app, and enqueueing inside the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_QUEUE = "default"
EMBEDDINGS_QUEUE = "embeddings"

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, :queueing_lock, "
    "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])"
)


def make_job_app(libpq_url: str) -> procrastinate.App:
    """A job app on its own small connection pool, with every task declared on it."""
    # Each app gets its own Task objects: a procrastinate task is bound to the app that declared
    # it, and deferring (e.g. periodic tasks) goes through that app's connector.
    from ragaas.certs import tasks as certs_tasks
    from ragaas.ingestion import tasks as ingestion_tasks
    from ragaas.jobs import maintenance
    from ragaas.notifications import tasks as notification_tasks
    from ragaas.sources import tasks as source_tasks

    connector = procrastinate.PsycopgConnector(conninfo=libpq_url, min_size=1, max_size=4)
    app = procrastinate.App(connector=connector)
    modules = (ingestion_tasks, maintenance, source_tasks, notification_tasks, certs_tasks)
    for module in modules:
        module.register(app)
    return app


async def enqueue(
    session: AsyncSession,
    task: str,
    args: dict[str, Any],
    *,
    queue: str = DEFAULT_QUEUE,
    queueing_lock: str | None = None,
    lock: str | None = None,
) -> None:
    """Enqueue ``task`` in the session's transaction: the job exists iff the write commits.

    Jobs sharing a ``lock`` run one at a time, in order.
    """
    params = {
        "lock": lock,
        "queue": queue,
        "task": task,
        "queueing_lock": queueing_lock,
        "args": json.dumps(args),
    }
    await session.execute(_DEFER, params)
