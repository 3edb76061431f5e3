"""A streamed answer as events: ``delta`` (text), then ``done`` (the recorded result) or ``error``.

The events are plain ``(kind, data)`` pairs; each API formats them its own way: /v1/chat as
server-sent events (``sse``), the OpenAI-compatible API as ``chat.completion.chunk`` objects.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ragaas.auth.principal import Principal
from ragaas.errors import AppError
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
from ragaas.rules.schemas import Stage

Event = tuple[str, dict[str, Any]]


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
) -> AsyncIterator[Event]:
    """Stream the answer to already-retrieved sources, then record the query."""
    started = time.perf_counter()
    model = answerer.chat_model
    plan = answerer.plan(guard)
    query = guard.state.query
    if model is None or not sources:
        answer, citations = extractive_answer(query, sources) if sources else (NOT_FOUND, [])
        metrics["answerer"] = "extractive"
        yield "delta", {"text": answer}
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
                    yield "delta", {"text": delta}
        except LLMError as exc:
            yield "error", {"status": 502, "detail": exc.message}
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
) -> AsyncIterator[Event]:
    """A finished answer (blocked, or held back for the after-generation rules) as one delta."""
    yield "delta", {"text": draft.answer}
    async for event in _finish(answerer, sessions, guard, draft):
        yield event


async def _finish(
    answerer: Answerer,
    sessions: async_sessionmaker[AsyncSession],
    guard: Guarded,
    draft: Draft,
) -> AsyncIterator[Event]:
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
    yield "done", done


async def start_stream(
    answerer: Answerer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    principal: Principal,
    body: ChatRequest,
) -> AsyncIterator[Event]:
    """Everything that needs the request's session (rules, retrieval), then the events to stream.

    Call it before the response starts: the request's session is closed once it does.
    """
    started = time.perf_counter()
    guard = await Guarded.start(session, principal, body.query, body.config)
    if not await guard.stage(Stage.BEFORE_RETRIEVAL):
        return stream_draft(answerer, sessions, guard, answerer.blocked_draft(guard, {}, started))
    sources, metrics = await answerer.retrieve(body, guard)
    metrics["timings_ms"]["retrieve_ms"] = round((time.perf_counter() - started) * 1000, 2)
    guard.state.see_chunks(sources)
    if not await guard.stage(Stage.AFTER_RETRIEVAL):
        draft = answerer.blocked_draft(guard, metrics, started)
        return stream_draft(answerer, sessions, guard, draft)
    if guard.engine.has(Stage.AFTER_GENERATION):
        # No one may see the answer before the after-generation rules have: generate it whole.
        try:
            draft = await answerer.generate(
                guard.state.query, sources, metrics, answerer.plan(guard)
            )
        except LLMError as exc:
            raise AppError(exc.message, status_code=502) from None
        draft = await answerer.after_generation(draft, guard)
        guard.record(metrics)
        return stream_draft(answerer, sessions, guard, draft)
    return stream_answer(answerer, sessions, guard, body, sources, metrics)
