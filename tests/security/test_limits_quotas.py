"""Per-organisation quotas: documents, stored bytes and queries per day, with defaults from
settings and overrides set by an operator (``ragaas admin set-quota``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from ragaas.app import create_app
from ragaas.cli.main import app
from ragaas.models import AuditEvent, Organization
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory, serve_in_thread
from tests.mcp.helpers import error_text, http_client
from tests.operations.conftest import ops_app

Invoke = Callable[..., Awaitable[Result]]
QUOTA_TYPE = "urn:ragaas:problem:quota-exceeded"


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Invoke:
    """``ragaas ARGS`` on the test database, as an operator runs it (in a worker thread)."""
    env = {
        "RAGAAS_DATABASE_URL": settings.database_url,
        "RAGAAS_DATA_DIR": str(tmp_path / "data"),
        "RAGAAS_SEED_DEMO": "false",
        "RAGAAS_LOG_JSON": "false",
    }

    async def invoke(*args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)

    return invoke


async def _set_quota(cli: Invoke, tenant: Tenant, *options: str) -> dict[str, Any]:
    result = await cli(
        "admin", "set-quota", "--org", str(tenant.organization_id), *options, "--json"
    )
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


async def _add(c: httpx.AsyncClient, tenant: Tenant, text: str, external_id: str) -> httpx.Response:
    body = {"title": external_id, "text": text, "external_id": external_id}
    return await c.post("/v1/documents", json=body, headers=tenant.headers)


def _assert_quota_problem(response: httpx.Response, status: int, quota: str, limit: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == QUOTA_TYPE
    assert (problem["quota"], problem["limit"]) == (quota, limit)


async def test_document_and_storage_quotas_set_by_an_operator(
    cli: Invoke,
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    make_tenant: TenantFactory,
) -> None:
    shown = await _set_quota(cli, tenant, "--documents", "2", "--storage-bytes", "300")
    assert shown["limits"] == {"documents": 2, "storage_bytes": 300, "queries_per_day": 0}
    assert shown["usage"]["documents"] == 0
    # Every member sees the organisation's quota, e.g. with an API key of any scope.
    seen = (await client.get("/v1/quota", headers=tenant.headers)).json()
    assert seen["storage_bytes"] == {"limit": 300, "usage": 0}

    assert (await _add(client, tenant, "a" * 100, "one")).status_code == 202
    assert (await _add(client, tenant, "b" * 100, "two")).status_code == 202
    third = await _add(client, tenant, "c" * 10, "three")
    _assert_quota_problem(third, 403, "documents", 2)
    assert third.json()["usage"] == 2
    assert "quota of 2 documents" in third.json()["detail"]
    # Replacing a document counts only the bytes it adds: 200 - 100 + 250 > 300.
    grown = await _add(client, tenant, "d" * 250, "one")
    _assert_quota_problem(grown, 403, "storage_bytes", 300)
    assert grown.json()["usage"] == 200
    assert (await _add(client, tenant, "e" * 150, "one")).status_code == 202  # 250 <= 300
    # Another organisation has the (unlimited) default.
    other = await make_tenant()
    assert (await _add(client, other, "f" * 400, "big")).status_code == 202

    # Deleting frees the quota; 'default' removes the override.
    two = (await client.get("/v1/documents", headers=tenant.headers)).json()["items"]
    doomed = next(d for d in two if d["external_id"] == "two")
    assert (await client.delete(f"/v1/documents/{doomed['id']}", headers=tenant.headers)).is_success
    assert (await _add(client, tenant, "g" * 10, "three")).status_code == 202
    shown = await _set_quota(cli, tenant, "--documents", "default", "--storage-bytes", "default")
    assert shown["limits"]["documents"] == 0
    assert shown["usage"] == {"documents": 2, "storage_bytes": 160, "queries_per_day": 0}
    seen = await client.get("/v1/quota", headers=tenant.headers)
    assert seen.json() == {
        "documents": {"limit": 0, "usage": 2},
        "storage_bytes": {"limit": 0, "usage": 160},
        "queries_per_day": {"limit": 0, "usage": 0},
    }
    assert (await client.get("/v1/quota")).status_code == 401
    async with runtime.sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.organization_id == tenant.organization_id,
                    AuditEvent.action == "quota.update",
                )
            )
        ).all()
    assert [e.details for e in events] == [
        {"documents": 2, "storage_bytes": 300},
        {"documents": None, "storage_bytes": None},
    ]


async def test_set_quota_refuses_bad_values(cli: Invoke, tenant: Tenant) -> None:
    result = await cli(
        "admin", "set-quota", "--org", str(tenant.organization_id), "--documents", "-1"
    )
    assert result.exit_code != 0
    assert "--documents: give a whole number" in result.output
    nothing = await cli("admin", "set-quota", "--org", str(tenant.organization_id))
    assert nothing.exit_code != 0


async def test_daily_query_quota_covers_search_chat_and_openai(
    cli: Invoke,
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: TenantFactory,
) -> None:
    await _set_quota(cli, tenant, "--queries-per-day", "2")
    search = {"query": "anything at all"}
    for _ in range(2):
        ok = await client.post("/v1/search", json=search, headers=tenant.headers)
        assert ok.status_code == 200, ok.text
    refused = await client.post("/v1/search", json=search, headers=tenant.headers)
    _assert_quota_problem(refused, 429, "queries_per_day", 2)
    assert refused.json()["usage"] == 2
    assert 1 <= int(refused.headers["retry-after"]) <= 86400
    chat = await client.post("/v1/chat", json={"query": "hello"}, headers=tenant.headers)
    _assert_quota_problem(chat, 429, "queries_per_day", 2)
    openai = await client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers=tenant.headers,
    )
    _assert_quota_problem(openai, 429, "queries_per_day", 2)
    assert "queries per day" in openai.json()["error"]["message"]
    other = await make_tenant()
    assert (await client.post("/v1/search", json=search, headers=other.headers)).status_code == 200


async def test_defaults_come_from_settings(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    async with ops_app(settings, runtime, quota_max_documents=1) as (c, _):
        assert (await _add(c, tenant, "first", "1")).status_code == 202
        # The same content again is a duplicate, not a new document: allowed.
        assert (await _add(c, tenant, "first", "1")).status_code == 200
        _assert_quota_problem(await _add(c, tenant, "second", "2"), 403, "documents", 1)


async def test_mcp_query_tools_count_against_the_daily_quota(
    settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    async with runtime.sessionmaker() as session:
        org = await session.get(Organization, tenant.organization_id)
        assert org is not None
        org.max_queries_per_day = 1
        await session.commit()
    with serve_in_thread(create_app(settings)) as base:
        async with http_client(base, tenant.api_key) as mcp:
            first = await mcp.call_tool("search", {"query": "where do staff park?"})
            assert not first.is_error, first
            again = await mcp.call_tool("search", {"query": "where do staff park?"})
            assert "quota of 1 queries per day is used up" in error_text(again)
            asked = await mcp.call_tool("ask", {"query": "where do staff park?"})
            assert "quota of 1 queries per day" in error_text(asked)
            # Tools that do not answer queries are not metered.
            listed = await mcp.call_tool("list_sources", {})
            assert not listed.is_error, listed
