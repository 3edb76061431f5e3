"""/v1/search."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from ragaas.analytics.history import record_query
from ragaas.auth.dependencies import QueryPrincipal
from ragaas.db import Session
from ragaas.retrieval.schemas import SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", operation_id="search")
async def search(
    body: SearchRequest, request: Request, principal: QueryPrincipal, session: Session
) -> SearchResponse:
    """Retrieve the organisation's best passages: hybrid (default), dense or lexical."""
    started = time.perf_counter()
    searcher = request.app.state.searcher
    outcome = await searcher.search(
        session, principal.organization_id, body.query, body.top_k, body.mode, body.filters
    )
    outcome.timings_ms["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
    metrics = {"mode": body.mode.value, "top_k": body.top_k, "results": len(outcome.results)}
    metrics["timings_ms"] = outcome.timings_ms
    await record_query(
        session,
        principal,
        kind="search",
        query=body.query,
        answer=None,
        citations=[],
        metrics=metrics,
    )
    await session.commit()
    return SearchResponse(results=outcome.results, mode=body.mode, timings_ms=outcome.timings_ms)
