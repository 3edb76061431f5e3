"""A search as callers make it: configuration and rules applied, recorded in the history.

`POST /v1/search` and the MCP `search` tool both call ``guarded_search``; the caller commits.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.analytics.history import record_query
from ragaas.auth.principal import Principal
from ragaas.notifications import events
from ragaas.retrieval.schemas import SearchRequest, SearchResponse, SearchResult
from ragaas.retrieval.service import Searcher
from ragaas.rules.guard import Guarded
from ragaas.rules.schemas import Stage


async def guarded_search(
    session: AsyncSession,
    principal: Principal,
    searcher: Searcher,
    body: SearchRequest,
    via: str | None = None,
) -> SearchResponse:
    """Rules before retrieval, the search, rules after it; then the history row and alerts."""
    started = time.perf_counter()
    guard = await Guarded.start(session, principal, body.query, body.config)
    results: list[SearchResult] = []
    timings: dict[str, float] = {}
    plan = guard.retrieval(body)
    if await guard.stage(Stage.BEFORE_RETRIEVAL):
        plan = guard.retrieval(body)  # the rules may have switched config or restricted it
        outcome = await searcher.tuned(guard.config.params).search(
            session,
            principal.organization_id,
            guard.state.query,
            plan.top_k,
            plan.mode,
            plan.filters,
        )
        guard.state.see_chunks(outcome.results)
        timings = outcome.timings_ms
        if await guard.stage(Stage.AFTER_RETRIEVAL):
            results = outcome.results
    timings["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
    metrics: dict[str, Any] = {
        "mode": plan.mode.value,
        "top_k": plan.top_k,
        "results": len(results),
    }
    if via is not None:
        metrics["via"] = via
    guard.record(metrics)
    metrics["timings_ms"] = timings
    await record_query(
        session,
        principal,
        kind="search",
        query=guard.state.query,
        answer=None,
        citations=[],
        metrics=metrics,
        config_name=guard.config.name,
        blocked=guard.blocked is not None,
    )
    await events.emit(
        session, principal.organization_id, events.GUARDRAIL_FIRED, events.fired(guard, "search")
    )
    return SearchResponse(
        results=results, mode=plan.mode, timings_ms=timings, blocked=guard.blocked
    )
