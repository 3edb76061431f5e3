"""Writing the query history: every answered query with its citations and metrics."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth.principal import Principal
from ragaas.models import QueryHistory
from ragaas.observability.metrics import observe_query


async def record_query(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: str,
    query: str,
    answer: str | None,
    citations: list[dict[str, Any]],
    metrics: dict[str, Any],
    config_name: str | None = None,
    blocked: bool = False,
) -> QueryHistory:
    """Stage a query_history row for the caller's organisation (the caller commits)."""
    row = QueryHistory(
        organization_id=principal.organization_id,
        user_id=principal.user_id,
        api_key_id=principal.api_key_id,
        kind=kind,
        query=query,
        answer=answer,
        citations=citations,
        metrics=metrics,
        config_name=config_name,
        blocked=blocked,
    )
    session.add(row)
    await session.flush()
    observe_query(kind, metrics, blocked)  # Prometheus: the one place every query passes
    return row
