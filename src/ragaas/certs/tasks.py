"""The renewal job: every hour, the workers renew the ACME certificates that are due."""

from __future__ import annotations

import logging

import procrastinate
from procrastinate import JobContext

from ragaas.certs.service import renew_and_deploy
from ragaas.runtime import runtime_for

log = logging.getLogger(__name__)
RENEW_TASK = "certs.renew"


async def renew(context: JobContext, timestamp: int) -> None:
    """Renew due certificates, write them out and run the reload command (if any)."""
    runtime = runtime_for(context.app)
    if not runtime.settings.cert_auto_renew:
        return
    report = await renew_and_deploy(runtime.sessionmaker, runtime.settings)
    if report.renewed:
        log.info("renewed certificates %s", ", ".join(report.renewed))
    if report.failed:
        failures = "; ".join(f"{name}: {error}" for name, error in report.failed.items())
        raise RuntimeError(f"certificate renewal failed: {failures}")  # a failed job, visible


def register(app: procrastinate.App) -> None:
    """Declare this module's tasks on ``app``."""
    task = app.task(name=RENEW_TASK, queueing_lock=RENEW_TASK, pass_context=True)(renew)
    # Minute 17: away from the top of the hour, when many clients hit the ACME CAs.
    app.periodic(cron="17 * * * *", periodic_id="certs-renew")(task)
