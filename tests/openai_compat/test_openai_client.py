"""The official `openai` client against a running Ragaas server: models, answers with citations,
streaming, conversations, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import openai
import pytest

from ragaas.app import create_app
from ragaas.models import QueryHistory
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, serve_in_thread, wait_for_document
from tests.llm_double import RecordingLLM


@pytest.fixture(scope="module")
def server_url(settings: Settings, runtime: Runtime) -> Iterator[str]:
    """A real HTTP server on the test database (documents are ingested by the `client` worker)."""
    app = create_app(settings.model_copy(update={"workers_in_process": False}), runtime)
    with serve_in_thread(app) as base:
        yield base


async def _ingest(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        "/v1/documents",
        json={
            "title": "Parking",
            "text": "Staff park their cars in garage P3. The garage is on level minus two.",
            "url": "https://intranet.example/parking",
        },
        headers=tenant.headers,
    )
    await wait_for_document(client, tenant.headers, created.json()["id"])


def _openai(server_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server_url}/v1", api_key=key, max_retries=0)


async def test_models_and_a_cited_answer(
    client: httpx.AsyncClient, tenant: Tenant, server_url: str, runtime: Runtime
) -> None:
    await _ingest(client, tenant)
    await client.post("/v1/rag-configs", json={"name": "concise"}, headers=tenant.headers)
    oa = _openai(server_url, tenant.api_key)

    models = await asyncio.to_thread(oa.models.list)
    assert [m.id for m in models.data] == ["ragaas", "concise"]

    completion = await asyncio.to_thread(
        oa.chat.completions.create,
        model="ragaas",
        messages=[{"role": "user", "content": "Where do staff park their cars?"}],
    )
    content = completion.choices[0].message.content or ""
    assert "P3" in content
    assert "Sources:\n[1] Parking (https://intranet.example/parking)" in content
    assert completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra or {}
    assert extra["citations"][0]["title"] == "Parking"
    async with runtime.sessionmaker() as session:
        row = await session.get(QueryHistory, extra["ragaas"]["query_id"])
    assert row is not None
    assert row.kind == "chat"


async def test_a_follow_up_is_made_standalone(
    client: httpx.AsyncClient, tenant: Tenant, server_url: str, runtime: Runtime
) -> None:
    await _ingest(client, tenant)
    oa = _openai(server_url, tenant.api_key)
    completion = await asyncio.to_thread(
        oa.chat.completions.create,
        model="ragaas",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Where do staff park their cars?"},
            {"role": "assistant", "content": "In garage P3 [1]."},
            {"role": "user", "content": [{"type": "text", "text": "Which level is it on?"}]},
        ],
    )
    assert "[1] Parking" in (completion.choices[0].message.content or "")
    async with runtime.sessionmaker() as session:
        row = await session.get(QueryHistory, (completion.model_extra or {})["ragaas"]["query_id"])
    assert row is not None
    assert row.query == "Where do staff park their cars? Which level is it on?"


async def test_streaming(client: httpx.AsyncClient, tenant: Tenant, server_url: str) -> None:
    await _ingest(client, tenant)
    oa = _openai(server_url, tenant.api_key)

    def collect() -> tuple[str, list[openai.types.chat.ChatCompletionChunk]]:
        stream = oa.chat.completions.create(
            model="ragaas",
            messages=[{"role": "user", "content": "Where do staff park their cars?"}],
            stream=True,
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return text, chunks

    text, chunks = await asyncio.to_thread(collect)
    assert "P3" in text
    assert "Sources:\n[1] Parking" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["citations"][0]["title"] == "Parking"


async def test_errors_come_back_as_openai_errors(tenant: Tenant, server_url: str) -> None:
    oa = _openai(server_url, tenant.api_key)
    with pytest.raises(openai.NotFoundError, match="no-such-config"):
        await asyncio.to_thread(
            oa.chat.completions.create,
            model="no-such-config",
            messages=[{"role": "user", "content": "hello"}],
        )
    with pytest.raises(openai.UnprocessableEntityError, match="no user message"):
        await asyncio.to_thread(
            oa.chat.completions.create,
            model="ragaas",
            messages=[{"role": "system", "content": "only a system prompt"}],
        )
    stranger = _openai(server_url, "rg_nope_nope")
    with pytest.raises(openai.AuthenticationError):
        await asyncio.to_thread(stranger.models.list)


async def test_with_a_model_the_model_condenses_the_conversation(
    client: httpx.AsyncClient,
    llm_client: httpx.AsyncClient,
    tenant: Tenant,
    recording_llm: tuple[RecordingLLM, str],
    runtime: Runtime,
) -> None:
    llm, _ = recording_llm
    await _ingest(client, tenant)
    llm.reply = "staff parking garage level"
    messages = [
        {"role": "user", "content": "Where do staff park their cars?"},
        {"role": "assistant", "content": "In garage P3 [1]."},
        {"role": "user", "content": "Which level?"},
    ]
    response = await llm_client.post(
        "/v1/chat/completions",
        json={"model": "ragaas", "messages": messages},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    rewrite = llm.requests[0]["messages"]
    assert rewrite[0]["content"].startswith("Rewrite the user's last question")
    assert rewrite[1]["content"].endswith("user: Which level?\n\nStandalone query:")
    async with runtime.sessionmaker() as session:
        row = await session.get(QueryHistory, response.json()["ragaas"]["query_id"])
    assert row is not None
    assert row.query == "staff parking garage level"
