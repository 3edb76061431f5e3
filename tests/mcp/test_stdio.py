"""``ragaas mcp`` over stdio: a real subprocess spawned by the MCP SDK's stdio client."""

from __future__ import annotations

import asyncio
import sys

import httpx
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from typer.testing import CliRunner

from ragaas.auth.permissions import Permission
from ragaas.cli.main import app
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, wait_for_document
from tests.mcp.helpers import HANDBOOK, scoped_key, structured

COMMAND = [sys.executable, "-m", "ragaas.cli.main", "mcp"]


def environment(settings: Settings, key: str) -> dict[str, str]:
    assert settings.database_url is not None
    assert settings.jwt_secret is not None
    return {
        "RAGAAS_DATABASE_URL": settings.database_url,
        "RAGAAS_DATA_DIR": str(settings.data_dir),
        "RAGAAS_JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "RAGAAS_API_KEY": key,
        "RAGAAS_WORKERS_IN_PROCESS": "false",
        "RAGAAS_SEED_DEMO": "false",
        "RAGAAS_LOG_JSON": "false",
        "RAGAAS_LOG_LEVEL": "WARNING",
    }


async def test_stdio_lists_tools_and_answers(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    created = await client.post(
        "/v1/documents",
        json={"title": "Staff handbook", "text": HANDBOOK},
        headers=tenant.headers,
    )
    document_id = created.json()["id"]
    assert (await wait_for_document(client, tenant.headers, document_id))["status"] == "ready"

    params = StdioServerParameters(
        command=COMMAND[0], args=COMMAND[1:], env=environment(settings, tenant.api_key)
    )
    async with Client(params, cache=None) as mcp:
        names = {t.name for t in (await mcp.list_tools()).tools}
        assert {"search", "ask", "ingest_text", "query_stats", "extract_fields"} <= names
        found = structured(await mcp.call_tool("search", {"query": "where do staff park?"}))
        assert found["results"][0]["document_id"] == document_id
        asked = structured(await mcp.call_tool("ask", {"query": "Where do staff park?"}))
        assert "garage P3" in asked["answer"]
        assert asked["citations"][0]["document_id"] == document_id
    history = await client.get(f"/v1/queries/{asked['query_id']}", headers=tenant.headers)
    assert history.json()["answer"] == asked["answer"]


async def test_stdio_scopes_follow_the_key(
    tenant: Tenant, settings: Settings, runtime: Runtime
) -> None:
    key = await scoped_key(runtime, tenant, Permission.QUERY_READ)
    params = StdioServerParameters(
        command=COMMAND[0], args=COMMAND[1:], env=environment(settings, key)
    )
    async with Client(params, cache=None) as mcp:
        names = {t.name for t in (await mcp.list_tools()).tools}
        assert names == {"query_stats", "low_rated_answers", "unanswered_queries"}


async def test_stdio_refuses_to_start_with_a_bad_key(settings: Settings) -> None:
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        env={**environment(settings, "rg_nope_nope"), "PATH": "/usr/bin:/bin"},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 1
    assert out == b""
    assert "RAGAAS_API_KEY is not usable: invalid API key" in err.decode()


def test_stdio_needs_a_key() -> None:
    result = CliRunner().invoke(app, ["mcp"], env={"RAGAAS_API_KEY": None})
    assert result.exit_code == 1
    assert "set RAGAAS_API_KEY to an API key" in result.output
