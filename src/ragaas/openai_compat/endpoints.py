"""OpenAI-compatible chat: any OpenAI client library can talk to an organisation's documents.

`GET /v1/models` lists the organisation's RAG configurations as models (plus `ragaas`, the default);
`POST /v1/chat/completions` answers the last user message (made standalone from the conversation)
through the same rules, configuration and answerer as /v1/chat, and records it in the history.
The answer carries its sources as text ("Sources: [1] ...") and as a `citations` extension field.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ragaas.auth.dependencies import QueryPrincipal
from ragaas.configs import service as configs
from ragaas.db import Session
from ragaas.errors import AppError
from ragaas.generation.schemas import ChatRequest, ChatResponse
from ragaas.generation.service import Answerer
from ragaas.generation.streaming import Event, start_stream
from ragaas.openai_compat.condense import standalone_query
from ragaas.openai_compat.schemas import DEFAULT_MODEL, ChatCompletionRequest
from ragaas.openapi import problem_responses
from ragaas.providers.llm.base import LLMError
from ragaas.quotas.dependencies import MeteredQuery

router = APIRouter(prefix="/v1", tags=["openai compatible"])


@router.get("/models", operation_id="openai_models")
async def models(principal: QueryPrincipal, session: Session) -> dict[str, Any]:
    """The models a client may name: `ragaas` and each RAG configuration."""
    rows = await configs.current_all(session, principal.organization_id)
    entries = [(DEFAULT_MODEL, 0)] + [(r.name, int(r.created_at.timestamp())) for r in rows]
    data = [{"id": n, "object": "model", "created": t, "owned_by": "ragaas"} for n, t in entries]
    return {"object": "list", "data": data}


@router.post(
    "/chat/completions",
    operation_id="openai_chat_completions",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(404, 502)},
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, principal: MeteredQuery, session: Session
) -> dict[str, Any] | StreamingResponse:
    """An OpenAI chat completion answered from the organisation's documents."""
    answerer: Answerer = request.app.state.answerer
    query = await standalone_query(body.messages, answerer.chat_model)
    config = None if body.model == DEFAULT_MODEL else body.model
    chat = ChatRequest(query=query[:4000], config=config, stream=body.stream)
    created = int(time.time())
    if not body.stream:
        try:
            answer = await answerer.answer(session, principal, chat)
        except LLMError as exc:
            raise AppError(exc.message, status_code=502) from None
        return _completion(answer, body.model, created)
    events = await start_stream(answerer, request.app.state.sessionmaker, session, principal, chat)
    chunks = _chunks(events, body.model, created, f"chatcmpl-{uuid.uuid4().hex}")
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)


def sources_text(citations: list[dict[str, Any]]) -> str:
    """The citations as the text a chat UI shows under the answer."""
    if not citations:
        return ""
    lines = [
        f"[{c['n']}] {c['title']}" + (f" ({c['url']})" if c.get("url") else "") for c in citations
    ]
    return "\n\nSources:\n" + "\n".join(lines)


def _completion(answer: ChatResponse, model: str, created: int) -> dict[str, Any]:
    citations = [c.model_dump(mode="json") for c in answer.citations]
    metrics = answer.metrics
    tokens_in, tokens_out = int(metrics.get("tokens_in", 0)), int(metrics.get("tokens_out", 0))
    return {
        "id": f"chatcmpl-{answer.query_id.hex}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.answer + sources_text(citations),
                },
                "finish_reason": "content_filter" if answer.blocked else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
        "citations": citations,
        "ragaas": {"query_id": str(answer.query_id), "blocked": answer.blocked, "metrics": metrics},
    }


async def _chunks(
    events: AsyncIterator[Event], model: str, created: int, completion_id: str
) -> AsyncIterator[str]:
    """Our answer events as OpenAI `chat.completion.chunk` server-sent events, then [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for kind, data in events:
        if kind == "delta":
            yield chunk({"content": data["text"]})
        elif kind == "error":
            error = {"message": data["detail"], "type": "upstream_error", "code": data["status"]}
            yield f"data: {json.dumps({'error': error})}\n\n"
            return
        elif kind == "done":
            citations = data["citations"]
            if citations:
                yield chunk({"content": sources_text(citations)})
            finish = "content_filter" if data.get("blocked") else "stop"
            extra = {
                "citations": citations,
                "ragaas": {"query_id": data["query_id"], "blocked": data.get("blocked", False)},
            }
            yield chunk({}, finish, **extra)
    yield "data: [DONE]\n\n"
