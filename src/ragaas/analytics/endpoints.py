"""/v1/analytics/...: reports over the query history, as JSON or CSV (``?format=csv``)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from ragaas.analytics import reports
from ragaas.analytics.reports import Window
from ragaas.audit.exports import AuditCsvExport
from ragaas.auth.dependencies import QueryReader
from ragaas.db import Session
from ragaas.errors import Unprocessable
from ragaas.exports.delivery import ExportTarget, ExportTo

# Each report is a table: JSON rows by default, or CSV with ?format=csv.
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "text/csv": {"schema": {"type": "string"}},
        }
    }
}
router = APIRouter(
    prefix="/v1/analytics",
    tags=["analytics"],
    dependencies=[AuditCsvExport],
    responses=REPORT_RESPONSES,
)

Since = Annotated[
    datetime | None, Query(alias="from", description="Start (inclusive); default: 30 days ago.")
]
Until = Annotated[datetime | None, Query(alias="to", description="End (exclusive); default: now.")]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Report = Callable[[Window], Awaitable[list[dict[str, Any]]]]


def _window(organization_id: uuid.UUID, since: datetime | None, until: datetime | None) -> Window:
    until = until or datetime.now(UTC)
    try:
        since = since or until - timedelta(days=30)
    except OverflowError:  # 'to' within 30 days of year 1
        raise Unprocessable("'to' is too early: the window would start before year 1") from None
    if since.tzinfo is None or until.tzinfo is None:
        since, until = (
            since.replace(tzinfo=since.tzinfo or UTC),
            until.replace(tzinfo=until.tzinfo or UTC),
        )
    if since >= until:
        raise Unprocessable("'from' must be before 'to'")
    return Window(organization_id, since, until)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def _respond(
    name: str,
    rows: list[dict[str, Any]],
    fmt: str,
    export: ExportTarget,
    window: Window,
) -> Response:
    plain = [{k: _plain(v) for k, v in row.items()} for row in rows]
    if fmt == "json":
        return JSONResponse(plain)
    out = io.StringIO()
    if plain:
        writer = csv.DictWriter(out, fieldnames=list(plain[0]))
        writer.writeheader()
        writer.writerows(plain)
    return await export.deliver(name, window.organization_id, out.getvalue().encode())


@router.get("/volume", operation_id="analytics_volume")
async def volume(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    interval: Annotated[Literal["hour", "day"], Query()] = "day",
    format: Format = "json",
) -> Response:
    """Queries per hour or day (UTC): total, searches, chats, blocked."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.volume(session, window, interval)
    return await _respond("volume", rows, format, export, window)


@router.get("/latency", operation_id="analytics_latency")
async def latency(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
) -> Response:
    """Latency per stage (embed, lexical, dense, rerank, generate, total...): p50, p95, max ms."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.latency(session, window)
    return await _respond("latency", rows, format, export, window)


@router.get("/usage", operation_id="analytics_usage")
async def usage(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    group_by: Annotated[Literal["user", "config", "day", "model"], Query()] = "day",
    format: Format = "json",
) -> Response:
    """Queries, LLM tokens in/out and cost per user, config, day or model."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.usage(session, window, group_by)
    return await _respond("usage", rows, format, export, window)


@router.get("/top-queries", operation_id="analytics_top_queries")
async def top_queries(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    limit: Limit = 20,
    format: Format = "json",
) -> Response:
    """The most frequent queries."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.top_queries(session, window, limit)
    return await _respond("top-queries", rows, format, export, window)


@router.get("/no-results", operation_id="analytics_no_results")
async def no_results(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    format: Format = "json",
) -> Response:
    """Queries that retrieved nothing: what users look for and the content does not have."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.no_results(session, window, limit)
    return await _respond("no-results", rows, format, export, window)


@router.get("/lowest-rated", operation_id="analytics_lowest_rated")
async def lowest_rated(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    format: Format = "json",
) -> Response:
    """Rated answers, worst first, with the feedback comment."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.lowest_rated(session, window, limit)
    return await _respond("lowest-rated", rows, format, export, window)


@router.get("/cited-documents", operation_id="analytics_cited_documents")
async def cited_documents(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    format: Format = "json",
) -> Response:
    """Documents by how often answers cited them."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.cited_documents(session, window, limit)
    return await _respond("cited-documents", rows, format, export, window)


@router.get("/uncited-documents", operation_id="analytics_uncited_documents")
async def uncited_documents(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    limit: Limit = 100,
    format: Format = "json",
) -> Response:
    """Ready documents that no answer cited in the window."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.uncited_documents(session, window, limit)
    return await _respond("uncited-documents", rows, format, export, window)


@router.get("/guardrails", operation_id="analytics_guardrails")
async def guardrails(
    principal: QueryReader,
    session: Session,
    export: ExportTo,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
) -> Response:
    """How often each rule fired, and how many queries it blocked."""
    window = _window(principal.organization_id, since, until)
    rows = await reports.guardrail_hits(session, window)
    return await _respond("guardrails", rows, format, export, window)
