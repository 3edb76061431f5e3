"""Server-sent events for a streamed answer: ``delta`` events, then ``done`` (or ``error``)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ragaas.generation.schemas import ChatRequest
from ragaas.generation.service import (
    NOT_FOUND,
    Answerer,
    Draft,
    extractive_answer,
    llm_citations,
    usage_metrics,
)
from ragaas.providers.llm.base import Completion, LLMError
from ragaas.retrieval.schemas import SearchResult
from ragaas.rules.guard import Guarded


def sse(event: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def stream_answer(
    answerer: Answerer,
    sessions: async_sessionmaker[AsyncSession],
    guard: Guarded,
    body: ChatRequest,
    sources: list[SearchResult],
    metrics: dict[str, Any],
) -> AsyncIterator[str]:
    """Stream the answer to already-retrieved sources, then record the query."""
    started = time.perf_counter()
    model = answerer.chat_model
    plan = answerer.plan(guard)
    query = guard.state.query
    if model is None or not sources:
        answer, citations = extractive_answer(query, sources) if sources else (NOT_FOUND, [])
        metrics["answerer"] = "extractive"
        yield sse("delta", {"text": answer})
    else:
        parts: list[str] = []
        stream = model.stream(
            plan.messages(query, sources),
            max_tokens=plan.max_tokens,
            temperature=plan.temperature,
            model=plan.model,
        )
        try:
            async with stream:
                async for delta in stream:
                    parts.append(delta)
                    yield sse("delta", {"text": delta})
        except LLMError as exc:
            yield sse("error", {"status": 502, "detail": exc.message})
            return
        answer = "".join(parts).strip()
        citations = llm_citations(answer, sources)
        tokens_in, tokens_out = stream.usage or (0, len(parts))
        completion = Completion(answer, tokens_in, tokens_out, plan.model or model.name)
        metrics.update(usage_metrics(answerer.settings, model, completion))
        metrics["answerer"] = "llm"
    if not plan.cite:
        # The deltas went out as generated; the final answer drops the markers.
        answer, citations = plan.finish(answer), []
    metrics["timings_ms"]["generate_ms"] = round((time.perf_counter() - started) * 1000, 2)
    guard.record(metrics)
    async for event in _finish(answerer, sessions, guard, Draft(answer, citations, metrics)):
        yield event


async def stream_draft(
    answerer: Answerer,
    sessions: async_sessionmaker[AsyncSession],
    guard: Guarded,
    draft: Draft,
) -> AsyncIterator[str]:
    """A finished answer (blocked, or held back for the after-generation rules) as one delta."""
    yield sse("delta", {"text": draft.answer})
    async for event in _finish(answerer, sessions, guard, draft):
        yield event


async def _finish(
    answerer: Answerer,
    sessions: async_sessionmaker[AsyncSession],
    guard: Guarded,
    draft: Draft,
) -> AsyncIterator[str]:
    # The request's session is closed once the response starts: record on a session of our own.
    async with sessions() as session:
        query_id = await answerer.record(guard, draft, session)
    done = {
        "query_id": str(query_id),
        "answer": draft.answer,
        "citations": [c.model_dump(mode="json") for c in draft.citations],
        "metrics": draft.metrics,
        "blocked": draft.blocked,
    }
    yield sse("done", done)
