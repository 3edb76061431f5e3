"""/v1/chat: answers with citations, whole or streamed as server-sent events."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ragaas.auth.dependencies import QueryPrincipal
from ragaas.configs.apply import resolve
from ragaas.db import Session
from ragaas.errors import AppError
from ragaas.generation.schemas import ChatRequest, ChatResponse
from ragaas.generation.service import Answerer
from ragaas.generation.streaming import stream_answer
from ragaas.providers.llm.base import LLMError

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
    started = time.perf_counter()
    config = await resolve(session, principal.organization_id, body.config)
    sources, metrics = await answerer.retrieve(session, principal, body, config)
    metrics["timings_ms"]["retrieve_ms"] = round((time.perf_counter() - started) * 1000, 2)
    events = stream_answer(
        answerer, request.app.state.sessionmaker, principal, body, sources, metrics, config
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
