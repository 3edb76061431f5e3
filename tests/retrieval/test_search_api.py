"""POST /v1/search: modes, filters on labels, metadata and documents, top_k, validation."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant, wait_for_document

DOCS = [
    {
        "title": "Payroll",
        "text": "Salaries are paid on the 25th of each month by bank transfer.",
        "labels": ["hr"],
        "metadata": {"region": "eu"},
    },
    {
        "title": "Expenses",
        "text": "Expense claims are reimbursed with the next salary payment.",
        "labels": ["finance"],
        "metadata": {"region": "us"},
    },
    {
        "title": "Parking",
        "text": "Visitors park in the north lot; staff park in the garage.",
        "labels": ["facilities"],
        "metadata": {"region": "eu"},
    },
]


async def _ingest(client: httpx.AsyncClient, tenant: Tenant) -> list[str]:
    ids = []
    for doc in DOCS:
        created = await client.post("/v1/documents", json=doc, headers=tenant.headers)
        ids.append((await wait_for_document(client, tenant.headers, created.json()["id"]))["id"])
    return ids


async def _titles(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object]) -> list[str]:
    response = await client.post("/v1/search", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [r["title"] for r in response.json()["results"]]


async def test_each_mode_finds_the_right_document(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _ingest(client, tenant)
    for mode in ("dense", "lexical", "hybrid"):
        titles = await _titles(client, tenant, {"query": "when are salaries paid", "mode": mode})
        assert titles[0] == "Payroll", mode


async def test_filters_restrict_results(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = await _ingest(client, tenant)
    query = "salary payment"
    assert set(
        await _titles(client, tenant, {"query": query, "filters": {"labels": ["finance"]}})
    ) == {"Expenses"}
    by_meta = await _titles(
        client, tenant, {"query": query, "filters": {"metadata": {"region": "eu"}}}
    )
    assert set(by_meta) <= {"Payroll", "Parking"}
    assert "Payroll" in by_meta
    by_doc = await _titles(client, tenant, {"query": query, "filters": {"document_ids": [ids[2]]}})
    assert set(by_doc) <= {"Parking"}
    for mode in ("dense", "lexical"):
        none = await _titles(
            client, tenant, {"query": query, "mode": mode, "filters": {"labels": ["nope"]}}
        )
        assert none == []


async def test_top_k_and_validation(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _ingest(client, tenant)
    assert len(await _titles(client, tenant, {"query": "staff", "top_k": 1})) == 1
    bad = await client.post(
        "/v1/search", json={"query": "", "mode": "fuzzy"}, headers=tenant.headers
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_document_list_filters_and_pages(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _ingest(client, tenant)
    page = (await client.get("/v1/documents?limit=2", headers=tenant.headers)).json()
    assert page["total"] == 3
    assert len(page["items"]) == 2
    rest = (await client.get("/v1/documents?limit=2&offset=2", headers=tenant.headers)).json()
    assert len(rest["items"]) == 1
    hr = (await client.get("/v1/documents?label=hr", headers=tenant.headers)).json()
    assert [d["title"] for d in hr["items"]] == ["Payroll"]
    titled = (await client.get("/v1/documents?title=park", headers=tenant.headers)).json()
    assert [d["title"] for d in titled["items"]] == ["Parking"]
    ready = (await client.get("/v1/documents?status=ready", headers=tenant.headers)).json()
    assert ready["total"] == 3
