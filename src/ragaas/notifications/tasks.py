"""Background jobs of notifications: match an event to alerts, deliver, and the periodic checks."""

from __future__ import annotations

import uuid
from typing import Any

import procrastinate
from procrastinate import JobContext, RetryStrategy

from ragaas.notifications import checks, delivery, events, service
from ragaas.runtime import runtime_for

CHECK_TASK = "notifications.check"
DISPATCH_ATTEMPTS = 3


class DeliveryPending(Exception):
    """The attempt failed and another is due: procrastinate retries the job with backoff."""


async def dispatch(context: JobContext, event: dict[str, Any]) -> None:
    """An emitted event: a delivery (and its job) per matching alert and channel."""
    runtime = runtime_for(context.app)
    async with runtime.sessionmaker() as session:
        await service.dispatch(session, event)
        await session.commit()


async def deliver(context: JobContext, delivery_id: str) -> None:
    """One attempt of a delivery; raising asks procrastinate for the next one."""
    runtime = runtime_for(context.app)
    # Procrastinate's count is the backstop: its last run always leaves the row final.
    last_run = context.job.attempts >= delivery.MAX_ATTEMPTS - 1
    status = await delivery.attempt(runtime, uuid.UUID(delivery_id), retry=not last_run)
    if status == "pending":
        raise DeliveryPending(f"delivery {delivery_id}: attempt failed; retrying")


async def check(context: JobContext, timestamp: int) -> None:
    """Every minute: the source_stale and error_rate alerts."""
    await checks.run_checks(runtime_for(context.app))


def register(app: procrastinate.App) -> None:
    """Declare this module's tasks on ``app``."""
    app.task(
        name=events.DISPATCH_TASK,
        pass_context=True,
        retry=RetryStrategy(max_attempts=DISPATCH_ATTEMPTS - 1, exponential_wait=2),
    )(dispatch)
    app.task(
        name=delivery.DELIVER_TASK,
        pass_context=True,
        retry=RetryStrategy(
            max_attempts=delivery.MAX_ATTEMPTS - 1,
            exponential_wait=delivery.RETRY_BASE_SECONDS,
            retry_exceptions=[DeliveryPending],
        ),
    )(deliver)
    task = app.task(name=CHECK_TASK, queueing_lock=CHECK_TASK, pass_context=True)(check)
    app.periodic(cron="* * * * *", periodic_id="notifications-check")(task)
