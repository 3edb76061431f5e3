"""/v1/chat: answers with citations, whole or streamed as server-sent events."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ragaas.auth.dependencies import QueryPrincipal
from ragaas.db import Session
from ragaas.errors import AppError
from ragaas.generation.schemas import ChatRequest, ChatResponse
from ragaas.generation.service import Answerer
from ragaas.generation.streaming import stream_answer, stream_draft
from ragaas.providers.llm.base import LLMError
from ragaas.rules.guard import Guarded
from ragaas.rules.schemas import Stage

router = APIRouter(prefix="/v1", tags=["chat"])


@router.post(
    "/chat",
    operation_id="chat",
    response_model=ChatResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 502: {"description": "LLM failed"}},
)
async def chat(
    body: ChatRequest, request: Request, principal: QueryPrincipal, session: Session
) -> ChatResponse | StreamingResponse:
    """Answer from the organisation's documents with numbered citations (``stream`` for SSE)."""
    answerer: Answerer = request.app.state.answerer
    if not body.stream:
        try:
            return await answerer.answer(session, principal, body)
        except LLMError as exc:
            raise AppError(exc.message, status_code=502) from None
    sessions = request.app.state.sessionmaker
    started = time.perf_counter()
    guard = await Guarded.start(session, principal, body.query, body.config)
    events: AsyncIterator[str]
    if not await guard.stage(Stage.BEFORE_RETRIEVAL):
        draft = answerer.blocked_draft(guard, {}, started)
        events = stream_draft(answerer, sessions, guard, draft)
    else:
        sources, metrics = await answerer.retrieve(body, guard)
        metrics["timings_ms"]["retrieve_ms"] = round((time.perf_counter() - started) * 1000, 2)
        guard.state.see_chunks(sources)
        if not await guard.stage(Stage.AFTER_RETRIEVAL):
            events = stream_draft(
                answerer, sessions, guard, answerer.blocked_draft(guard, metrics, started)
            )
        elif guard.engine.has(Stage.AFTER_GENERATION):
            # No one may see the answer before the after-generation rules have: generate it whole.
            try:
                draft = await answerer.generate(
                    guard.state.query, sources, metrics, answerer.plan(guard)
                )
            except LLMError as exc:
                raise AppError(exc.message, status_code=502) from None
            draft = await answerer.after_generation(draft, guard)
            guard.record(metrics)
            events = stream_draft(answerer, sessions, guard, draft)
        else:
            events = stream_answer(answerer, sessions, guard, body, sources, metrics)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
