"""Every endpoint: anonymous 401, missing permission 403, other organisation 404, valid 2xx."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory, wait_for_document

DOC = {"title": "Ladder", "text": "Ladders have rungs. Rungs are climbed one at a time."}


async def _key(client: httpx.AsyncClient, tenant: Tenant, scopes: list[str]) -> dict[str, str]:
    response = await client.post(
        "/v1/api-keys", json={"name": "ladder", "scopes": scopes}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


# (method, path template, body, permission it needs, expected success status)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("GET", "/v1/documents", None, "data:read", 200),
    ("GET", "/v1/documents/{doc}", None, "data:read", 200),
    ("GET", "/v1/documents/{doc}/chunks", None, "data:read", 200),
    ("POST", "/v1/documents", {"title": "New", "text": "Fresh text here."}, "data:write", 202),
    ("POST", "/v1/search", {"query": "rungs"}, "query", 200),
    ("POST", "/v1/chat", {"query": "what do ladders have?"}, "query", 200),
    ("GET", "/v1/users", None, "org:admin", 200),
    (
        "POST",
        "/v1/users",
        {"email": "n@x.test", "password": "ladder rungs password", "role": "viewer"},
        "org:admin",
        201,
    ),
    ("DELETE", "/v1/documents/{doc}", None, "data:write", 204),
    ("GET", "/v1/queries", None, "query:read", 200),
    ("GET", "/v1/rag-configs", None, "query", 200),
    ("GET", "/v1/rules", None, "rules:write", 200),
    ("POST", "/v1/rules/test", {"query": "hello"}, "rules:write", 200),
    ("POST", "/v1/rag-configs", {"name": "ladder"}, "rag:config", 201),
    ("GET", "/v1/analytics/volume", None, "query:read", 200),
    ("GET", "/v1/analytics/usage", None, "query:read", 200),
    ("GET", "/v1/data-sources", None, "data:read", 200),
    ("GET", "/v1/data-sources/types", None, "data:read", 200),
    ("GET", "/v1/data-sources/{src}", None, "data:read", 200),
    ("GET", "/v1/data-sources/{src}/runs", None, "data:read", 200),
    ("POST", "/v1/data-sources", {"name": "n", "type": "file", "config": {}}, "data:write", 422),
    ("PATCH", "/v1/data-sources/{src}", {"labels": ["x"]}, "data:write", 200),
    ("POST", "/v1/data-sources/{src}/sync", None, "data:write", 202),
    ("DELETE", "/v1/data-sources/{src}", None, "data:write", 204),
]


@pytest.fixture
async def ready_doc(client: httpx.AsyncClient, tenant: Tenant) -> str:
    created = await client.post("/v1/documents", json=DOC, headers=tenant.headers)
    doc = await wait_for_document(client, tenant.headers, created.json()["id"])
    return str(doc["id"])


@pytest.fixture
async def source(client: httpx.AsyncClient, tenant: Tenant, settings: Settings) -> str:
    folder = settings.source_folder_roots[0] / uuid.uuid4().hex
    folder.mkdir()
    body = {"name": "ladder", "type": "file", "config": {"path": str(folder)}}
    created = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.mark.parametrize(("method", "path", "body", "permission", "ok"), ENDPOINTS)
async def test_ladder(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: TenantFactory,
    ready_doc: str,
    source: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    permission: str,
    ok: int,
) -> None:
    url = path.format(doc=ready_doc, src=source)

    anonymous = await client.request(method, url, json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")

    others = [p for p in ("data:read", "data:write", "query", "query:read") if p != permission]
    lacking = await client.request(
        method, url, json=body, headers=await _key(client, tenant, others)
    )
    assert lacking.status_code == 403, lacking.text

    if "{doc}" in path or "{src}" in path:
        stranger = await make_tenant()
        foreign = await client.request(method, url, json=body, headers=stranger.headers)
        assert foreign.status_code == 404, foreign.text
        missing = await client.request(
            method,
            path.format(doc=uuid.uuid4(), src=uuid.uuid4()),
            json=body,
            headers=tenant.headers,
        )
        assert missing.status_code == 404

    allowed = await client.request(
        method, url, json=body, headers=await _key(client, tenant, [permission])
    )
    assert allowed.status_code == ok, allowed.text


async def test_api_key_revocation_is_404_for_another_org(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    created = await client.post(
        "/v1/api-keys", json={"name": "mine", "scopes": ["query"]}, headers=tenant.headers
    )
    stranger = await make_tenant()
    url = f"/v1/api-keys/{created.json()['id']}"
    assert (await client.delete(url)).status_code == 401
    assert (await client.delete(url, headers=stranger.headers)).status_code == 404
    assert (await client.delete(url, headers=tenant.headers)).status_code == 200


async def test_search_never_returns_another_orgs_chunks(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, ready_doc: str
) -> None:
    stranger = await make_tenant()
    for mode in ("dense", "lexical", "hybrid"):
        found = await client.post(
            "/v1/search", json={"query": "ladders rungs", "mode": mode}, headers=stranger.headers
        )
        assert found.status_code == 200
        assert found.json()["results"] == []
