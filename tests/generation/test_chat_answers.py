"""/v1/chat: extractive answers without an LLM, generated answers from a real local model, SSE."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ragaas.app import create_app
from ragaas.models import QueryHistory
from ragaas.providers.llm.openai_compatible import OpenAICompatibleChat
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import LOCAL_LLM_KEY, Tenant, wait_for_document

DOCS = [
    {
        "title": "Office guide",
        "text": "The Zurich office opens at 8 am on weekdays. Visitors sign in at the front desk. "
        "The cafeteria on the third floor serves lunch from noon.",
        "external_id": "office",
    },
    {
        "title": "Travel policy",
        "text": "Employees book trains for journeys under four hours. Flights need approval "
        "from a director. Hotel costs are capped at 180 euros per night.",
        "external_id": "travel",
    },
]


async def _ingest(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for doc in DOCS:
        created = await client.post("/v1/documents", json=doc, headers=tenant.headers)
        await wait_for_document(client, tenant.headers, created.json()["id"])


def _events(body: str) -> list[tuple[str, Any]]:
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


async def test_extractive_answer_cites_the_supporting_document(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    await _ingest(client, tenant)
    response = await client.post(
        "/v1/chat", json={"query": "What is the hotel cost cap per night?"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "180 euros" in body["answer"]
    assert "[1]" in body["answer"]
    assert body["citations"][0]["external_id"] == "travel"
    assert body["citations"][0]["n"] == 1
    assert body["metrics"]["answerer"] == "extractive"
    assert body["metrics"]["timings_ms"]["retrieve_ms"] > 0

    async with runtime.sessionmaker() as session:
        row = (
            await session.scalars(select(QueryHistory).where(QueryHistory.id == body["query_id"]))
        ).one()
    assert row.organization_id == tenant.organization_id
    assert row.citations[0]["external_id"] == "travel"
    assert row.metrics["answerer"] == "extractive"


async def test_question_with_nothing_indexed_says_so(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post("/v1/chat", json={"query": "Anything?"}, headers=tenant.headers)
    assert response.status_code == 200
    assert response.json()["citations"] == []
    assert "could not find" in response.json()["answer"]


async def test_streamed_extractive_answer(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _ingest(client, tenant)
    response = await client.post(
        "/v1/chat",
        json={"query": "When does the Zurich office open?", "stream": True},
        headers=tenant.headers,
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert events[0][0] == "delta"
    kind, done = events[-1]
    assert kind == "done"
    assert "8 am" in done["answer"]
    assert done["citations"][0]["external_id"] == "office"


@pytest.fixture
async def llm_client(
    settings: Settings, runtime: Runtime, local_llm_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The same service configured with an LLM: the local model behind its OpenAI-style API."""
    model = OpenAICompatibleChat(
        base_url=local_llm_url, model="SmolLM2-135M-Instruct", api_key=LOCAL_LLM_KEY, timeout=120
    )
    llm_settings = settings.model_copy(update={"workers_in_process": False, "llm_max_tokens": 64})
    llm_runtime = dataclasses.replace(runtime, chat_model=model, settings=llm_settings)
    app = create_app(llm_settings, llm_runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://llm.test") as c:
            yield c
    await model.aclose()


async def test_generated_answer_from_real_model_is_recorded_with_tokens(
    client: httpx.AsyncClient, llm_client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    await _ingest(client, tenant)
    response = await llm_client.post(
        "/v1/chat",
        json={"query": "What is the hotel cost cap per night?", "top_k": 2},
        headers=tenant.headers,
        timeout=180,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metrics"]["answerer"] == "llm"
    assert body["metrics"]["tokens_in"] > 50
    assert body["metrics"]["tokens_out"] > 0
    assert "180" in body["answer"]
    assert [c["external_id"] for c in body["citations"]] == ["travel"]
    async with runtime.sessionmaker() as session:
        row = await session.get(QueryHistory, body["query_id"])
    assert row is not None
    assert row.answer == body["answer"]
    assert row.metrics["tokens_out"] == body["metrics"]["tokens_out"]


async def test_generated_answer_streams_deltas(
    client: httpx.AsyncClient, llm_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _ingest(client, tenant)
    response = await llm_client.post(
        "/v1/chat",
        json={"query": "What is the hotel cost cap per night?", "top_k": 2, "stream": True},
        headers=tenant.headers,
        timeout=180,
    )
    events = _events(response.text)
    deltas = [data["text"] for kind, data in events if kind == "delta"]
    assert len(deltas) > 1
    kind, done = events[-1]
    assert kind == "done"
    assert done["answer"] == "".join(deltas).strip()
    assert done["metrics"]["tokens_out"] > 0
    assert "180" in done["answer"]
