"""/v1/chat: answers with citations, whole or streamed as server-sent events."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ragaas.db import Session
from ragaas.errors import AppError
from ragaas.generation.schemas import ChatRequest, ChatResponse
from ragaas.generation.service import Answerer
from ragaas.generation.streaming import sse, start_stream
from ragaas.openapi import problem_responses
from ragaas.providers.llm.base import LLMError
from ragaas.quotas.dependencies import MeteredQuery

router = APIRouter(prefix="/v1", tags=["chat"])


@router.post(
    "/chat",
    operation_id="chat",
    response_model=ChatResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(404, 502)},
)
async def chat(
    body: ChatRequest, request: Request, principal: MeteredQuery, session: Session
) -> ChatResponse | StreamingResponse:
    """Answer from the organisation's documents with numbered citations (``stream`` for SSE)."""
    answerer: Answerer = request.app.state.answerer
    if not body.stream:
        try:
            return await answerer.answer(session, principal, body)
        except LLMError as exc:
            raise AppError(exc.message, status_code=502) from None
    events = await start_stream(answerer, request.app.state.sessionmaker, session, principal, body)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    sse_events = (sse(kind, data) async for kind, data in events)
    return StreamingResponse(sse_events, media_type="text/event-stream", headers=headers)
