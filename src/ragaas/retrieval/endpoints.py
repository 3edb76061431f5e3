"""/v1/search."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from ragaas.analytics.history import record_query
from ragaas.auth.dependencies import QueryPrincipal
from ragaas.db import Session
from ragaas.retrieval.schemas import SearchRequest, SearchResponse, SearchResult
from ragaas.retrieval.service import Searcher
from ragaas.rules.guard import Guarded
from ragaas.rules.schemas import Stage

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", operation_id="search")
async def search(
    body: SearchRequest, request: Request, principal: QueryPrincipal, session: Session
) -> SearchResponse:
    """Retrieve the organisation's best passages: hybrid (default), dense or lexical."""
    started = time.perf_counter()
    guard = await Guarded.start(session, principal, body.query, body.config)
    results: list[SearchResult] = []
    timings: dict[str, float] = {}
    plan = guard.retrieval(body)
    if await guard.stage(Stage.BEFORE_RETRIEVAL):
        plan = guard.retrieval(body)  # the rules may have switched config or restricted it
        searcher: Searcher = request.app.state.searcher
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
    await session.commit()
    return SearchResponse(
        results=results, mode=plan.mode, timings_ms=timings, blocked=guard.blocked
    )
