"""A minimal OpenAI-compatible HTTP server over the local SmolLM2 model.

Run: ``python -m ragaas.providers.llm.local_server --host 127.0.0.1 --port 8088``; set
``RAGAAS_LOCAL_LLM_API_KEY`` to require ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from ragaas.providers.llm.base import ChatMessage, ChatStream, Completion, LLMError
from ragaas.providers.llm.local import LocalSmolLM

DEFAULT_MAX_TOKENS = 256


class TextPart(BaseModel):
    type: str = "text"
    text: str = ""


class MessageIn(BaseModel):
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[TextPart] = ""

    def text(self) -> str:
        """The message text, with list-form content parts joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if part.type == "text")


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model: str | None = None  # ignored: this server has exactly one model
    messages: list[MessageIn] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    stream: bool = False
    stream_options: StreamOptions | None = None


class _UnauthorizedError(Exception):
    """The request lacks the configured bearer key."""


@dataclass(frozen=True)
class _ReplyIds:
    id: str
    created: int
    model: str


def create_local_llm_app(model: LocalSmolLM, *, api_key: str | None = None) -> FastAPI:
    """An app serving ``model`` at ``/v1/chat/completions`` and ``/v1/models``."""

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not _same(token, api_key):
            raise _UnauthorizedError

    app = FastAPI(
        title="Ragaas local LLM", docs_url=None, redoc_url=None, dependencies=[Depends(authorize)]
    )
    _add_error_handlers(app)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": model.name, "object": "model", "created": 0, "owned_by": "ragaas"}],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Response:
        # Parsed by hand so a JSON body is accepted whatever its Content-Type (curl -d sends
        # a form type), as llama.cpp and OpenAI accept it.
        try:
            body = ChatCompletionRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return _error_json(400, _describe(exc.errors()), "invalid_request_error")
        return await _chat_completions(model, body)

    return app


async def _chat_completions(model: LocalSmolLM, body: ChatCompletionRequest) -> Response:
    # OpenAI's newer "developer" role is a system prompt; SmolLM2's template knows only "system".
    messages = [
        ChatMessage("system" if m.role == "developer" else m.role, m.text()) for m in body.messages
    ]
    max_tokens = body.max_completion_tokens or body.max_tokens or DEFAULT_MAX_TOKENS
    ids = _ReplyIds(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model.name)
    if not body.stream:
        try:
            completion = await model.complete(
                messages, max_tokens=max_tokens, temperature=body.temperature
            )
        except LLMError as exc:
            return _error_response(exc)
        return JSONResponse(_completion_body(ids, completion, max_tokens))
    stream = model.stream(messages, max_tokens=max_tokens, temperature=body.temperature)
    try:
        first = await _first_delta(stream)
    except LLMError as exc:
        return _error_response(exc)
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    events = _sse_events(ids, stream, first, max_tokens, include_usage=include_usage)
    return StreamingResponse(events, media_type="text/event-stream")


async def _first_delta(stream: ChatStream) -> str | None:
    # Waiting for the first delta before answering 200 gives a rejected prompt a real status.
    try:
        return await anext(stream, None)
    except BaseException:
        await stream.aclose()
        raise


def _completion_body(ids: _ReplyIds, completion: Completion, max_tokens: int) -> dict[str, Any]:
    message = {"role": "assistant", "content": completion.text}
    finish = _finish(completion.tokens_out, max_tokens)
    return {
        "id": ids.id,
        "object": "chat.completion",
        "created": ids.created,
        "model": ids.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(completion.tokens_in, completion.tokens_out),
    }


async def _sse_events(
    ids: _ReplyIds, stream: ChatStream, first: str | None, max_tokens: int, *, include_usage: bool
) -> AsyncIterator[str]:
    try:
        yield _sse(_chunk(ids, [_choice({"role": "assistant", "content": ""}, None)]))
        if first is not None:
            yield _sse(_chunk(ids, [_choice({"content": first}, None)]))
            async for delta in stream:
                yield _sse(_chunk(ids, [_choice({"content": delta}, None)]))
        usage = stream.usage
        finish = _finish(usage.tokens_out if usage else 0, max_tokens)
        yield _sse(_chunk(ids, [_choice({}, finish)]))
        if include_usage and usage is not None:
            yield _sse(_chunk(ids, []) | {"usage": _usage(*usage)})
    except LLMError as exc:
        # The status line is already sent; OpenAI-style servers report it as an error chunk.
        yield _sse({"error": {"message": exc.message, "type": "server_error", "code": None}})
    finally:
        await stream.aclose()
    yield "data: [DONE]\n\n"


def _chunk(ids: _ReplyIds, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": ids.id,
        "object": "chat.completion.chunk",
        "created": ids.created,
        "model": ids.model,
        "choices": choices,
    }


def _choice(delta: dict[str, str], finish_reason: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason}


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _usage(tokens_in: int, tokens_out: int) -> dict[str, int]:
    return {
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
    }


def _finish(tokens_out: int, max_tokens: int) -> str:
    # The Protocol carries no finish reason; hitting the token budget is the only other one.
    return "length" if tokens_out >= max_tokens else "stop"


def _same(given: str, expected: str) -> bool:
    # Constant-time, so response timing does not reveal how much of a guessed key matched.
    return secrets.compare_digest(given.encode(), expected.encode())


def _error_response(exc: LLMError) -> JSONResponse:
    status = exc.status_code if exc.status_code and 400 <= exc.status_code < 600 else 500
    kind = "invalid_request_error" if status < 500 else "server_error"
    return _error_json(status, exc.message, kind)


def _error_json(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": code}}
    return JSONResponse(body, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    async def unauthorized(_: Request, __: Exception) -> Response:
        return _error_json(401, "invalid API key", "invalid_request_error", "invalid_api_key")

    app.add_exception_handler(_UnauthorizedError, unauthorized)


def _describe(errors: Sequence[Any]) -> str:
    where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors[:5])
    return f"invalid request: {where}"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="OpenAI-compatible server over SmolLM2-135M")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--n-ctx", type=int, default=2048, help="context window in tokens")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for llama.cpp")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve the local model until interrupted."""
    args = _parse_args(argv)
    model = LocalSmolLM(n_ctx=args.n_ctx, n_threads=args.threads)
    # The key comes from the environment so it never shows in the process list.
    api_key = os.environ.get("RAGAAS_LOCAL_LLM_API_KEY") or None
    uvicorn.run(create_local_llm_app(model, api_key=api_key), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
