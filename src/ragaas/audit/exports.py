"""Auditing CSV exports of the analytics reports, without touching each report endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Depends, Request

from ragaas.audit.service import record
from ragaas.auth.dependencies import QueryReader
from ragaas.db import Session


async def _audit_csv_export(
    request: Request, principal: QueryReader, session: Session
) -> AsyncIterator[None]:
    """Around a report: once it has succeeded as CSV, record ``analytics.export`` and commit.

    A report that fails raises at the ``yield``, so nothing is recorded for it.
    """
    yield
    if request.query_params.get("format") != "csv":
        return
    report = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    params = {k: v for k, v in request.query_params.items() if k != "format"}
    details = {"report": report, "params": params}
    record(session, principal, "analytics.export", "report", report, details, request)
    await session.commit()


# scope="function": the event is written before the response is sent, so a client that has
# its CSV can already see the audit row.
AuditCsvExport = Depends(_audit_csv_export, scope="function")
