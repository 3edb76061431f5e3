"""Housekeeping jobs for the queue itself."""

from __future__ import annotations

import logging

import procrastinate
from procrastinate import JobContext

log = logging.getLogger(__name__)


async def requeue_stalled(app: procrastinate.App) -> int:
    """Put jobs left `doing` by a dead worker (no heartbeat) back in the queue; returns how many."""
    manager = app.job_manager
    stalled = list(await manager.get_stalled_jobs())
    for job in stalled:
        log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await manager.retry_job(job)
    return len(stalled)


async def retry_stalled(context: JobContext, timestamp: int) -> None:
    """Every minute: no job is lost when a worker is killed mid-job."""
    await requeue_stalled(context.app)


def register(app: procrastinate.App) -> None:
    """Declare this module's tasks on ``app``."""
    task = app.task(
        name="jobs.retry_stalled", queueing_lock="jobs.retry_stalled", pass_context=True
    )(retry_stalled)
    app.periodic(cron="* * * * *", periodic_id="retry-stalled")(task)
