"""Keep a procrastinate worker running across database outages.

procrastinate stops a worker (run_worker_async returns) when one of its side tasks fails, e.g.
the LISTEN connection breaks because PostgreSQL restarted. Left alone, the API's in-process
worker would then be gone until the API is restarted, and ``ragaas worker`` would exit 0 (which
``restart: on-failure`` does not restart). The supervisor starts it again after a back-off.
Stopping is cancelling: procrastinate then lets running jobs finish (a second cancel does not
wait). Jobs a dead worker left `doing` are requeued by jobs.retry_stalled.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

import procrastinate

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0  # seconds before the first restart; doubles up to MAX_DELAY
MAX_DELAY = 30.0
HEALTHY_RUN = 60.0  # a worker that ran this long starts over from FIRST_DELAY


async def run_supervised(app: procrastinate.App, **options: Any) -> None:
    """Run a worker with ``options`` (concurrency, queues…) until cancelled."""
    delay = FIRST_DELAY
    while True:
        started = time.monotonic()
        try:
            await app.run_worker_async(install_signal_handlers=False, **options)
            reason = "it stopped"
        except Exception as exc:  # cancellation is not an Exception: it ends the loop
            reason = f"it failed: {exc!r}"
        if time.monotonic() - started > HEALTHY_RUN:
            delay = FIRST_DELAY
        log.warning(
            "job worker: %s (is the database reachable?); restarting it in %.0f s", reason, delay
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_DELAY)


async def run_until_signalled(app: procrastinate.App, **options: Any) -> None:
    """``run_supervised`` until SIGINT/SIGTERM (the first lets running jobs finish)."""
    task = asyncio.create_task(run_supervised(app, **options))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # this coroutine itself was cancelled
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
