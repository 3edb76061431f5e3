"""Analytics tools over the query history: volume, latency and cost; low-rated and unanswered
questions. The numbers come from the same reports as ``/v1/analytics/*``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from ragaas.analytics import reports
from ragaas.auth.permissions import Permission
from ragaas.errors import Unprocessable
from ragaas.mcp.access import Toolbox
from ragaas.mcp.calls import tool_call
from ragaas.mcp.schemas import (
    QueryStats,
    RatedAnswer,
    RatedAnswers,
    StageLatency,
    UnansweredQueries,
    UnansweredQuery,
    Usage,
    Volume,
    Window,
)

DEFAULT_DAYS = 30
Since = Annotated[
    datetime | None, Field(description="Start (inclusive, ISO 8601); default: 30 days earlier")
]
Until = Annotated[datetime | None, Field(description="End (exclusive, ISO 8601); default: now")]
Limit = Annotated[int, Field(ge=1, le=500, description="At most this many rows")]


def window(
    organization_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> reports.Window:
    """The report window, defaulting like the REST API (last 30 days; naive times are UTC)."""
    until = _aware(until) if until else datetime.now(UTC)
    since = _aware(since) if since else until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise Unprocessable("'since' must be before 'until'")
    return reports.Window(organization_id, since, until)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


def _usage(row: dict[str, Any], model: str | None = None) -> Usage:
    return Usage(
        model=model,
        queries=int(row["queries"]),
        tokens_in=int(row["tokens_in"]),
        tokens_out=int(row["tokens_out"]),
        cost=_number(row["cost"]),
    )


def register(box: Toolbox) -> None:
    services = box.services

    @box.tool(Permission.QUERY_READ, title="Query statistics")
    async def query_stats(since: Since = None, until: Until = None) -> QueryStats:
        """Query volume (searches, chats, blocked), latency p50/p95 per pipeline stage, and LLM
        tokens and cost over a time window (default: the last 30 days)."""
        async with tool_call(services) as call:
            w = window(call.principal.organization_id, since, until)
            buckets = await reports.volume(call.session, w, "day")
            by_model = await reports.usage(call.session, w, "model")
            latency = await reports.latency(call.session, w)
        totals = {
            key: sum(int(b[key]) for b in buckets) for key in ("total", "search", "chat", "blocked")
        }
        summed = {
            key: sum((row[key] for row in by_model), start=Decimal(0))
            for key in ("queries", "tokens_in", "tokens_out", "cost")
        }
        return QueryStats(
            window=Window(since=w.since, until=w.until),
            volume=Volume(**totals),
            latency=[
                StageLatency(
                    stage=row["stage"],
                    queries=int(row["queries"]),
                    p50_ms=_number(row["p50_ms"]),
                    p95_ms=_number(row["p95_ms"]),
                    max_ms=_number(row["max_ms"]),
                )
                for row in latency
            ],
            usage=_usage(summed),
            usage_by_model=[_usage(row, str(row["model"])) for row in by_model],
        )

    @box.tool(Permission.QUERY_READ, title="Lowest-rated answers")
    async def low_rated_answers(
        since: Since = None, until: Until = None, limit: Limit = 20
    ) -> RatedAnswers:
        """Answers users rated (1-5), worst first, with their feedback comments."""
        async with tool_call(services) as call:
            w = window(call.principal.organization_id, since, until)
            rows = await reports.lowest_rated(call.session, w, limit)
        return RatedAnswers(
            window=Window(since=w.since, until=w.until),
            answers=[
                RatedAnswer(
                    query_id=row["id"],
                    created_at=row["created_at"],
                    query=row["query"],
                    answer=row["answer"],
                    rating=row["rating"],
                    comment=row["feedback_comment"],
                )
                for row in rows
            ],
        )

    @box.tool(Permission.QUERY_READ, title="Unanswered queries")
    async def unanswered_queries(
        since: Since = None, until: Until = None, limit: Limit = 50
    ) -> UnansweredQueries:
        """Searches and questions that found nothing in the documents (not the ones a rule
        blocked): the gaps in the organisation's content, newest first."""
        async with tool_call(services) as call:
            w = window(call.principal.organization_id, since, until)
            rows = await reports.no_results(call.session, w, limit)
        return UnansweredQueries(
            window=Window(since=w.since, until=w.until),
            queries=[
                UnansweredQuery(
                    query_id=row["id"],
                    created_at=row["created_at"],
                    kind=row["kind"],
                    query=row["query"],
                )
                for row in rows
            ],
        )
