"""Shared steps of the data-source tests."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import Tenant, wait_for_document


async def create_source(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def sync_and_wait(
    client: httpx.AsyncClient, tenant: Tenant, source_id: str, wait_seconds: float = 120
) -> dict[str, Any]:
    """Ask for a sync, wait for the run to finish, then for its documents to be ready."""
    started = await client.post(f"/v1/data-sources/{source_id}/sync", headers=tenant.headers)
    assert started.status_code == 202, started.text
    run = await wait_for_run(client, tenant, source_id, started.json()["id"], wait_seconds)
    for doc in await source_documents(client, tenant, source_id):
        done = await wait_for_document(client, tenant.headers, doc["id"], wait_seconds)
        assert done["status"] == "ready", done
    return run


async def wait_for_run(
    client: httpx.AsyncClient, tenant: Tenant, source_id: str, run_id: str, wait_seconds: float
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        runs = await client.get(f"/v1/data-sources/{source_id}/runs", headers=tenant.headers)
        run: dict[str, Any] = next(r for r in runs.json() if r["id"] == run_id)
        if run["status"] in ("succeeded", "failed"):
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"sync run {run_id} still {run['status']}")
        await asyncio.sleep(0.1)


async def source_documents(
    client: httpx.AsyncClient, tenant: Tenant, source_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/documents", params={"data_source_id": source_id, "limit": 100}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def chunk_ids(client: httpx.AsyncClient, tenant: Tenant, document_id: str) -> list[int]:
    response = await client.get(f"/v1/documents/{document_id}/chunks", headers=tenant.headers)
    return [c["id"] for c in response.json()]


def counts(run: dict[str, Any]) -> dict[str, int]:
    """The run's counts without 'seen' (asserted separately where it matters)."""
    return {k: v for k, v in run["counts"].items() if k != "seen" and v}
