"""A deterministic OpenAI-compatible chat server that records what it is sent, and an API client
using it: for tests of what reaches the model (prompts, parameters), not of the model itself.

Its fixtures (``recording_llm``, ``llm_client``) are registered for every test by conftest.py."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from ragaas.app import create_app
from ragaas.providers.llm.openai_compatible import OpenAICompatibleChat
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import serve_in_thread


class RecordingLLM:
    """An OpenAI-compatible chat endpoint that answers a fixed text and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply = "Staff park in garage P3 [1]."

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions", response_model=None)
        async def complete(body: dict[str, Any]) -> dict[str, Any] | StreamingResponse:
            self.requests.append(body)
            if body.get("stream"):
                return StreamingResponse(self._events(body), media_type="text/event-stream")
            return {
                "model": body["model"],
                "choices": [{"message": {"role": "assistant", "content": self.reply}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 8},
            }

        return app

    async def _events(self, body: dict[str, Any]) -> AsyncIterator[str]:
        for word in self.reply.split(" "):
            chunk = {"model": body["model"], "choices": [{"delta": {"content": word + " "}}]}
            yield f"data: {json.dumps(chunk)}\n\n"
        usage = {"prompt_tokens": 50, "completion_tokens": 8}
        yield f"data: {json.dumps({'model': body['model'], 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"


@pytest.fixture
def recording_llm() -> Iterator[tuple[RecordingLLM, str]]:
    llm = RecordingLLM()
    with serve_in_thread(llm.app()) as base:
        yield llm, f"{base}/v1"


@pytest.fixture
async def llm_client(
    settings: Settings, runtime: Runtime, recording_llm: tuple[RecordingLLM, str]
) -> AsyncIterator[httpx.AsyncClient]:
    model = OpenAICompatibleChat(base_url=recording_llm[1], model="base-model", api_key="k")
    prices = {
        "workers_in_process": False,
        "llm_prices": {"big-model": (1.0, 2.0)},
        "llm_price_per_1k_input": 0.5,
        "llm_price_per_1k_output": 0.25,
    }
    llm_settings = settings.model_copy(update=prices)
    llm_runtime = dataclasses.replace(runtime, chat_model=model, settings=llm_settings)
    app = create_app(llm_settings, llm_runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://llm.test") as c:
            yield c
    await model.aclose()
