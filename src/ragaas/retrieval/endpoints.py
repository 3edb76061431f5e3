"""/v1/search."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from ragaas.analytics.history import record_query
from ragaas.auth.dependencies import QueryPrincipal
from ragaas.configs.apply import resolve, retrieval_for
from ragaas.db import Session
from ragaas.retrieval.schemas import SearchRequest, SearchResponse
from ragaas.retrieval.service import Searcher

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", operation_id="search")
async def search(
    body: SearchRequest, request: Request, principal: QueryPrincipal, session: Session
) -> SearchResponse:
    """Retrieve the organisation's best passages: hybrid (default), dense or lexical."""
    started = time.perf_counter()
    config = await resolve(session, principal.organization_id, body.config)
    plan = retrieval_for(body, config.params)
    searcher: Searcher = request.app.state.searcher
    outcome = await searcher.tuned(config.params).search(
        session, principal.organization_id, body.query, plan.top_k, plan.mode, plan.filters
    )
    outcome.timings_ms["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
    metrics: dict[str, Any] = {
        "mode": plan.mode.value,
        "top_k": plan.top_k,
        "results": len(outcome.results),
    }
    config.record(metrics)
    metrics["timings_ms"] = outcome.timings_ms
    await record_query(
        session,
        principal,
        kind="search",
        query=body.query,
        answer=None,
        citations=[],
        metrics=metrics,
        config_name=config.name,
    )
    await session.commit()
    return SearchResponse(results=outcome.results, mode=plan.mode, timings_ms=outcome.timings_ms)
