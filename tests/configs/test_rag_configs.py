"""/v1/rag-configs: versions, the default, validation, and each parameter changing a real query."""

from __future__ import annotations

from typing import Any

import httpx

from ragaas.models import QueryHistory
from ragaas.runtime import Runtime
from tests.conftest import Tenant, wait_for_document
from tests.llm_double import RecordingLLM

DOCS = [
    ("Salaries", "Salary bands are reviewed every April by the pay committee.", ["hr"]),
    ("Parking", "Staff park their cars in garage P3, level minus two.", ["facilities"]),
    ("Canteen", "The canteen serves soup on Fridays and fish on Thursdays.", ["facilities"]),
]


async def _ingest(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for title, text, labels in DOCS:
        created = await client.post(
            "/v1/documents",
            json={"title": title, "text": text, "labels": labels},
            headers=tenant.headers,
        )
        await wait_for_document(client, tenant.headers, created.json()["id"])


async def _put(
    client: httpx.AsyncClient, tenant: Tenant, name: str, params: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    response = await client.put(
        f"/v1/rag-configs/{name}", json={"params": params, **extra}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_versions_default_and_validation(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        "/v1/rag-configs",
        json={"name": "support", "params": {"top_k": 3, "mode": "lexical"}, "is_default": True},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["version"], created.json()["is_default"]) == (1, True)
    again = await client.post("/v1/rag-configs", json={"name": "support"}, headers=tenant.headers)
    assert again.status_code == 409

    v2 = await _put(client, tenant, "support", {"top_k": 5})
    assert (v2["version"], v2["is_default"], v2["params"]["top_k"]) == (2, True, 5)
    assert v2["params"]["mode"] is None  # PUT replaces the whole parameter set
    versions = await client.get("/v1/rag-configs/support/versions", headers=tenant.headers)
    assert [v["version"] for v in versions.json()] == [2, 1]
    assert [v["is_default"] for v in versions.json()] == [True, False]

    other = await client.post(
        "/v1/rag-configs", json={"name": "sales", "is_default": True}, headers=tenant.headers
    )
    assert other.status_code == 201
    listed = await client.get("/v1/rag-configs", headers=tenant.headers)
    assert [(c["name"], c["version"], c["is_default"]) for c in listed.json()] == [
        ("sales", 1, True),
        ("support", 2, False),
    ]

    for params, detail in [
        ({"temperature": 3}, "temperature"),
        ({"nonsense": 1}, "nonsense"),
        ({"system_prompt": "Use {context}"}, "placeholders {question} and {sources}"),
        ({"citation_style": "footnotes"}, "citation_style"),
    ]:
        bad = await client.put(
            "/v1/rag-configs/support", json={"params": params}, headers=tenant.headers
        )
        assert bad.status_code == 422, bad.text
        assert detail in bad.text
    missing = await client.put("/v1/rag-configs/nope", json={}, headers=tenant.headers)
    assert missing.status_code == 404
    unknown = await client.post(
        "/v1/search", json={"query": "x", "config": "nope"}, headers=tenant.headers
    )
    assert unknown.status_code == 404
    assert (await client.delete("/v1/rag-configs/sales", headers=tenant.headers)).status_code == 204
    assert (await client.get("/v1/rag-configs/sales", headers=tenant.headers)).status_code == 404


async def test_a_config_shapes_search_and_is_recorded_with_its_version(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    await _ingest(client, tenant)
    created = await client.post(
        "/v1/rag-configs",
        json={"name": "facilities", "params": {"filters": {"labels": ["facilities"]}, "top_k": 1}},
        headers=tenant.headers,
    )
    assert created.status_code == 201

    plain = await client.post("/v1/search", json={"query": "salary"}, headers=tenant.headers)
    assert plain.json()["results"][0]["title"] == "Salaries"
    scoped = await client.post(
        "/v1/search", json={"query": "salary", "config": "facilities"}, headers=tenant.headers
    )
    titles = [r["title"] for r in scoped.json()["results"]]
    assert len(titles) == 1  # the config's top_k
    assert "Salaries" not in titles  # its filter always applies
    wider = await client.post(
        "/v1/search",
        json={"query": "staff", "config": "facilities", "top_k": 5},
        headers=tenant.headers,
    )
    assert {r["title"] for r in wider.json()["results"]} == {"Parking", "Canteen"}

    await _put(client, tenant, "facilities", {"filters": {"labels": ["hr"]}}, is_default=True)
    by_default = await client.post("/v1/search", json={"query": "staff"}, headers=tenant.headers)
    assert [r["title"] for r in by_default.json()["results"]] == ["Salaries"]

    history = await client.get(
        "/v1/queries", params={"config": "facilities", "limit": 10}, headers=tenant.headers
    )
    assert history.json()["total"] == 3
    versions = []
    async with runtime.sessionmaker() as session:
        for item in history.json()["items"]:
            row = await session.get(QueryHistory, item["id"])
            assert row is not None
            versions.append(row.metrics["config"]["version"])
    versions.sort()
    assert versions == [1, 1, 2]


async def test_generation_parameters_reach_the_model(
    client: httpx.AsyncClient,
    llm_client: httpx.AsyncClient,
    tenant: Tenant,
    recording_llm: tuple[RecordingLLM, str],
) -> None:
    llm, _ = recording_llm
    await _ingest(client, tenant)
    params = {
        "llm_model": "big-model",
        "temperature": 0.7,
        "max_tokens": 99,
        "system_prompt": "You are the facilities desk. Question: {question}",
        "answer_language": "French",
        "citation_style": "none",
        "context_window": 1,
    }
    created = await client.post(
        "/v1/rag-configs", json={"name": "desk", "params": params}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text

    for stream in (False, True):
        response = await llm_client.post(
            "/v1/chat",
            json={"query": "Where do staff park?", "config": "desk", "stream": stream},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        sent = llm.requests[-1]
        assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("big-model", 0.7, 99)
        system = sent["messages"][0]["content"]
        assert system.startswith("You are the facilities desk. Question: Where do staff park?")
        assert system.endswith("Write the answer in French.")
        if not stream:
            body = response.json()
            assert body["answer"] == "Staff park in garage P3."  # no [n] markers
            assert body["citations"] == []
            assert body["metrics"]["config"] == {"name": "desk", "version": 1}
            # Priced from the table for the model that answered: (50 x 1.0 + 8 x 2.0) / 1000.
            assert (body["metrics"]["llm_model"], body["metrics"]["cost"]) == ("big-model", 0.066)
        else:
            assert '"answer": "Staff park in garage P3."' in response.text

    # Without the config: the server's defaults and numbered citations.
    plain = await llm_client.post(
        "/v1/chat", json={"query": "Where do staff park?"}, headers=tenant.headers
    )
    assert llm.requests[-1]["model"] == "base-model"
    assert "Cite the source number" in llm.requests[-1]["messages"][0]["content"]
    assert plain.json()["citations"][0]["title"] == "Parking"
    assert plain.json()["metrics"]["cost"] == 0.027  # the default prices: 50 x 0.5 + 8 x 0.25
