"""A real ``ragaas serve`` process for the SDK tests, answering with an OpenAI-compatible LLM.

The server runs as a subprocess on the test database (the pattern of tests/cli/test_cli.py) with
its in-process worker, so the SDKs talk real HTTP to the real API, ingestion and query recording.
Its LLM is a small deterministic OpenAI-compatible server (answers from the ``refunds`` document
with a citation, streams word by word, and fails with HTTP 500 for the model ``broken``) so that
tests can check streamed text, citations and the 5xx path exactly.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from ragaas.admin import service as admin_service
from ragaas.db import make_engine, make_sessionmaker
from ragaas.settings import Settings
from tests.conftest import running_serve, serve_in_thread, server_env

LLM_REPLY = "Customers may return a gadget within 45 days [1]."
BROKEN_MODEL = "broken"
PASSWORD = "correct horse battery"


def llm_app() -> FastAPI:
    """An OpenAI-compatible chat endpoint with a fixed, cited reply."""
    app = FastAPI()

    @app.post("/v1/chat/completions", response_model=None)
    async def complete(body: dict[str, Any]) -> Any:
        if body.get("model") == BROKEN_MODEL:
            error = {"error": {"message": "the model is overloaded", "type": "server_error"}}
            return JSONResponse(error, status_code=500)
        if body.get("stream"):
            return StreamingResponse(_chunks(body["model"]), media_type="text/event-stream")
        return {
            "model": body["model"],
            "choices": [{"message": {"role": "assistant", "content": LLM_REPLY}}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 12},
        }

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"data": [{"id": "sdk-model"}]}

    return app


async def _chunks(model: str) -> AsyncIterator[str]:
    words = LLM_REPLY.split(" ")
    for i, word in enumerate(words):
        text = word if i == len(words) - 1 else word + " "
        yield f"data: {json.dumps({'model': model, 'choices': [{'delta': {'content': text}}]})}\n\n"
    usage = {"prompt_tokens": 40, "completion_tokens": 12}
    yield f"data: {json.dumps({'model': model, 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


@pytest.fixture(scope="session")
def sdk_llm_url() -> Iterator[str]:
    with serve_in_thread(llm_app()) as base:
        yield f"{base}/v1"


@pytest.fixture(scope="session")
def server(
    settings: Settings, sdk_llm_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real ``ragaas serve`` process (API + in-process worker) on the test database."""
    env = {
        **os.environ,
        **server_env(settings),
        "RAGAAS_LLM_PROVIDER": "openai",
        "RAGAAS_LLM_BASE_URL": sdk_llm_url,
        "RAGAAS_LLM_MODEL": "sdk-model",
        "RAGAAS_LLM_API_KEY": "sdk-test-key",
    }
    for name in ("RAGAAS_URL", "RAGAAS_API_KEY"):
        env.pop(name, None)
    with running_serve(env, tmp_path_factory.mktemp("sdk-server")) as (url, _):
        yield url


@dataclass(frozen=True)
class Org:
    """A bootstrapped organisation: its admin's login and an all-scopes API key."""

    organization_id: str
    user_id: str
    email: str
    password: str
    api_key: str


@pytest.fixture(scope="session")
async def sessions(settings: Settings) -> AsyncIterator[Any]:
    engine = make_engine(settings.database_url or "", pool_size=1)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def org(sessions: Any) -> Org:
    """A fresh organisation, bootstrapped the way ``ragaas admin bootstrap`` does it."""
    name = f"sdk-{uuid.uuid4().hex[:10]}"
    email = f"admin@{name}.test"
    async with sessions() as session:
        organization, user, key = await admin_service.bootstrap(session, name, email, PASSWORD)
        await session.commit()
    return Org(str(organization.id), str(user.id), email, PASSWORD, key)
