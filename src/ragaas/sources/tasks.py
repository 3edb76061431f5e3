"""Background jobs of data sources: one sync run, and the scheduler that enqueues due sources."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import procrastinate
from procrastinate import JobContext, RetryStrategy
from sqlalchemy import select

from ragaas.models import DataSource
from ragaas.runtime import Runtime, runtime_for
from ragaas.sources.service import SYNC_TASK, next_fire, request_sync
from ragaas.sources.sync import run_sync

log = logging.getLogger(__name__)
SYNC_ATTEMPTS = 3


async def sync(context: JobContext, run_id: str) -> None:
    """Run one queued sync (retried with backoff when the source fails as a whole)."""
    await run_sync(runtime_for(context.app), uuid.UUID(run_id))


async def enqueue_due(runtime: Runtime, now: datetime | None = None) -> int:
    """Queue a sync of every source whose schedule has come; returns how many were queued."""
    now = now or datetime.now(UTC)
    async with runtime.sessionmaker() as session:
        due = await session.scalars(
            select(DataSource)
            .where(DataSource.next_sync_at <= now)
            .order_by(DataSource.next_sync_at)
            .with_for_update(skip_locked=True)
        )
        count = 0
        for source in due:
            await request_sync(session, source, "schedule")
            source.next_sync_at = next_fire(source.cron, now)
            count += 1
        await session.commit()
    if count:
        log.info("queued %d scheduled syncs", count)
    return count


async def schedule(context: JobContext, timestamp: int) -> None:
    """Every minute: enqueue the sources whose cron time has come."""
    await enqueue_due(runtime_for(context.app))


def register(app: procrastinate.App) -> None:
    """Declare this module's tasks on ``app``."""
    app.task(
        name=SYNC_TASK,
        pass_context=True,
        retry=RetryStrategy(max_attempts=SYNC_ATTEMPTS - 1, exponential_wait=5),
    )(sync)
    task = app.task(name="sources.schedule", queueing_lock="sources.schedule", pass_context=True)(
        schedule
    )
    app.periodic(cron="* * * * *", periodic_id="sources-schedule")(task)
