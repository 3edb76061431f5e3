"""The MCP server over streamable HTTP at /mcp, against a real uvicorn server with its own runtime
and job worker, driven by the MCP SDK's own client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from ragaas.app import create_app
from ragaas.auth.permissions import Permission
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory, serve_in_thread
from tests.mcp.helpers import (
    HANDBOOK,
    SECURITY,
    error_text,
    http_client,
    ingest,
    scoped_key,
    structured,
    wait_ready,
)

ALL_TOOLS = {
    "search",
    "ask",
    "get_document",
    "list_sources",
    "query_stats",
    "low_rated_answers",
    "unanswered_queries",
    "summarize_documents",
    "compare_documents",
    "extract_fields",
    "answer_multipart",
    "ingest_text",
    "ingest_url",
    "delete_document",
    "sync_source",
    "reindex_source",
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def base(settings: Settings) -> Iterator[str]:
    """A real API server (uvicorn in a thread) with its own runtime and in-process worker."""
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """A small web site for ingest_url."""
    app = FastAPI()

    @app.get("/handbook.html")
    async def page() -> HTMLResponse:
        return HTMLResponse(
            "<html><head><title>Parking guide</title></head><body><h1>Parking</h1>"
            "<p>Visitors park in garage P5 next to the main entrance.</p></body></html>"
        )

    @app.get("/moved")
    async def moved() -> RedirectResponse:
        return RedirectResponse("http://169.254.169.254/latest/meta-data/")

    @app.get("/big.txt")
    async def big() -> Response:
        return Response(b"x" * (3 * 1024 * 1024), media_type="text/plain")

    @app.get("/stream.txt")
    async def stream() -> StreamingResponse:  # no Content-Length: the cap applies while reading
        async def pieces() -> AsyncIterator[bytes]:
            for _ in range(48):
                yield b"y" * 65536

        return StreamingResponse(pieces(), media_type="text/plain")

    with serve_in_thread(app) as url:
        yield url


async def test_no_or_bad_key_is_401_problem(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        missing = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        wrong = await http.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": "Bearer rg_x_y"}
        )
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer <API key>" in missing.json()["detail"]
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "invalid API key"


async def test_any_host_name_is_served(base: str, tenant: Tenant) -> None:
    # Behind a proxy the Host is the public name, not 127.0.0.1.
    headers = {**MCP_HEADERS, **tenant.headers, "Host": "rag.example.com"}
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 200, response.text
    assert '"serverInfo"' in response.text


async def test_the_sdk_client_is_refused_without_a_key(base: str) -> None:
    # The SDK reports the 401 only as a generic error response.
    with pytest.raises(ExceptionGroup) as refused:
        async with http_client(base, None) as client:
            await client.list_tools()
    assert refused.group_contains(MCPError, match="error response", depth=None)


async def test_bootstrap_ingest_ask_and_every_tool_group(
    base: str, site: str, tenant: Tenant, settings: Settings
) -> None:
    async with http_client(base, tenant.api_key) as client:
        assert client.protocol_version in MODERN_PROTOCOL_VERSIONS
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == ALL_TOOLS

        # Data: ingest through the tool, then it is searchable and answerable.
        handbook = await ingest(client, "Staff handbook", HANDBOOK, labels=["hr"])
        security = await ingest(client, "Security policy", SECURITY, external_id="sec-1")
        again = structured(
            await client.call_tool(
                "ingest_text", {"title": "Staff handbook", "text": HANDBOOK, "labels": ["hr"]}
            )
        )
        assert again["duplicate"] is True
        assert again["document_id"] == handbook

        found = structured(
            await client.call_tool("search", {"query": "where do staff park?", "top_k": 3})
        )
        assert found["results"][0]["document_id"] == handbook
        assert "garage P3" in found["results"][0]["content"]
        only_hr = structured(
            await client.call_tool("search", {"query": "security key", "labels": ["hr"]})
        )
        assert {r["document_id"] for r in only_hr["results"]} == {handbook}

        asked = structured(
            await client.call_tool("ask", {"query": "How many days of paid holiday do staff get?"})
        )
        assert "25 days" in asked["answer"]
        assert asked["answerer"] == "extractive"
        assert asked["citations"][0]["document_id"] == handbook
        assert "[1]" in asked["answer"]

        # The ask landed in the query history like /v1/chat.
        async with httpx.AsyncClient(base_url=base, headers=tenant.headers) as http:
            history = (await http.get(f"/v1/queries/{asked['query_id']}")).json()
            assert history["kind"] == "chat"
            assert history["answer"] == asked["answer"]
            rated = await http.post(
                f"/v1/queries/{asked['query_id']}/feedback", json={"rating": 1, "comment": "meh"}
            )
            assert rated.status_code == 200, rated.text

        doc = structured(await client.call_tool("get_document", {"document_id": security}))
        assert doc["title"] == "Security policy"
        assert doc["external_id"] == "sec-1"
        assert "90 days" in " ".join(c["content"] for c in doc["chunks"])

        # Analytics.
        await client.call_tool("search", {"query": "zyzzyva quokka", "mode": "lexical"})
        stats = structured(await client.call_tool("query_stats", {}))
        assert stats["volume"]["chat"] >= 1
        assert stats["volume"]["search"] >= 3
        assert any(s["stage"] == "total_ms" and s["p95_ms"] > 0 for s in stats["latency"])
        unanswered = structured(await client.call_tool("unanswered_queries", {}))
        assert "zyzzyva quokka" in [q["query"] for q in unanswered["queries"]]
        low = structured(await client.call_tool("low_rated_answers", {"limit": 5}))
        assert low["answers"][0]["query_id"] == asked["query_id"]
        assert low["answers"][0]["comment"] == "meh"

        # LLM chains, deterministic without an LLM.
        summary = structured(
            await client.call_tool("summarize_documents", {"document_ids": [handbook, security]})
        )
        assert summary["answerer"] == "extractive"
        assert set(summary["documents"]) == {handbook, security}
        assert "[1]" in summary["answer"]
        assert len(summary["citations"]) >= 2
        compared = structured(
            await client.call_tool(
                "compare_documents", {"document_a": handbook, "document_b": security}
            )
        )
        assert compared["answerer"] == "extractive"
        assert compared["differences"]
        assert compared["answer"].startswith("Similarities:")
        extracted = structured(
            await client.call_tool(
                "extract_fields",
                {
                    "document_id": handbook,
                    "fields_schema": {
                        "type": "object",
                        "properties": {
                            "holiday_days": {"type": "integer", "description": "paid holiday"},
                            "garage": {"type": "string", "description": "where staff park"},
                        },
                        "required": ["holiday_days", "garage"],
                    },
                },
            )
        )
        assert extracted["values"]["holiday_days"] == 25
        assert "P3" in extracted["values"]["garage"]
        assert extracted["valid"] is True, extracted["errors"]
        assert "25 days" in extracted["sources"]["holiday_days"]["snippet"]
        multipart = structured(
            await client.call_tool(
                "answer_multipart",
                {"question": "How many days of paid holiday do staff get and where do they park?"},
            )
        )
        assert [p["question"] for p in multipart["parts"]] == [
            "How many days of paid holiday do staff get",
            "Where do they park?",
        ]
        assert "25 days" in multipart["parts"][0]["answer"]
        assert "P3" in multipart["parts"][1]["answer"]
        assert multipart["decomposed_by"] == "extractive"

        # Resources and prompts.
        listed = (await client.list_resources()).resources
        assert f"ragaas://documents/{handbook}" in {str(r.uri) for r in listed}
        text = (await client.read_resource(f"ragaas://documents/{handbook}")).contents[0]
        assert getattr(text, "text", "").startswith("# Staff handbook")
        assert "garage P3" in getattr(text, "text", "")
        prompt = await client.get_prompt("answer_with_citations", {"question": "Parking?"})
        assert "Question: Parking?" in str(prompt.messages[0].content)

        # A URL, a data source synced and re-indexed, then deletion.
        page = structured(await client.call_tool("ingest_url", {"url": f"{site}/handbook.html"}))
        await wait_ready(client, str(page["document_id"]))
        fetched = structured(
            await client.call_tool("get_document", {"document_id": page["document_id"]})
        )
        assert fetched["title"] == "Parking guide"
        assert fetched["external_id"] == f"{site}/handbook.html"
        await _sync_and_reindex(client, base, tenant, settings)
        deleted = structured(await client.call_tool("delete_document", {"document_id": security}))
        assert deleted["title"] == "Security policy"
        gone = await client.call_tool("get_document", {"document_id": security})
        assert f"document {security} not found" in error_text(gone)


async def _sync_and_reindex(client: Client, base: str, tenant: Tenant, settings: Settings) -> None:
    folder = settings.source_folder_roots[0] / f"mcp-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / "faq.md").write_text("# FAQ\n\nThe canteen serves lunch from noon to 2 pm.")
    async with httpx.AsyncClient(base_url=base, headers=tenant.headers) as http:
        created = await http.post(
            "/v1/data-sources",
            json={"name": "faq", "type": "file", "config": {"path": str(Path(folder))}},
        )
        assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    run = structured(await client.call_tool("sync_source", {"source_id": source_id}))["run"]
    assert run["status"] in ("queued", "running")
    assert run["trigger"] == "manual"
    for _ in range(300):
        listed = structured(await client.call_tool("list_sources", {}))["sources"]
        mine = next(s for s in listed if s["id"] == source_id)
        if mine["last_run"] and mine["last_run"]["status"] == "succeeded":
            break
        await asyncio.sleep(0.2)
    assert mine["document_count"] == 1, mine
    async with httpx.AsyncClient(base_url=base, headers=tenant.headers) as http:
        listed = await http.get("/v1/documents", params={"data_source_id": source_id})
    faq = str(listed.json()["items"][0]["id"])
    before = await wait_ready(client, faq)
    reindexed = structured(await client.call_tool("reindex_source", {"source_id": source_id}))
    assert reindexed["documents"] == 1
    for _ in range(300):  # re-chunked: new chunk rows, embedded again
        after = await wait_ready(client, faq)
        if {c["id"] for c in after["chunks"]} != {c["id"] for c in before["chunks"]}:
            break
        await asyncio.sleep(0.2)
    assert {c["id"] for c in after["chunks"]} != {c["id"] for c in before["chunks"]}
    assert after["chunks"][0]["content"] == before["chunks"][0]["content"]


async def test_a_query_only_key_sees_and_calls_only_query_tools(
    base: str, tenant: Tenant, runtime: Runtime
) -> None:
    key = await scoped_key(runtime, tenant, Permission.QUERY)
    async with http_client(base, key) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"search", "ask", "answer_multipart"}
        with pytest.raises(MCPError) as refused:
            await client.call_tool("ingest_text", {"title": "x", "text": "y"})
        assert refused.value.message == (
            "tool 'ingest_text' needs the 'data:write' scope, which this API key does not have"
        )
        with pytest.raises(MCPError, match="'data:read' scope"):
            await client.read_resource(f"ragaas://documents/{uuid.uuid4()}")
        assert (await client.list_resources()).resources == []
        assert structured(await client.call_tool("search", {"query": "anything"}))["results"] == []


async def test_analytics_key_and_tenant_isolation(
    base: str, make_tenant: TenantFactory, runtime: Runtime
) -> None:
    owner, other = await make_tenant(), await make_tenant()
    async with http_client(base, owner.api_key) as client:
        document_id = await ingest(client, "Owner's secret", "The vault code is kept by Ada.")
    analyst = await scoped_key(runtime, other, Permission.QUERY_READ)
    async with http_client(base, analyst) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"query_stats", "low_rated_answers", "unanswered_queries"}
        with pytest.raises(MCPError, match="needs the 'data:read', 'query' scopes"):
            await client.call_tool("summarize_documents", {"query": "anything"})
        stats = structured(await client.call_tool("query_stats", {}))
        assert stats["volume"]["total"] == 0  # another organisation's history is not visible
        bad = await client.call_tool(
            "query_stats", {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}
        )
        assert "'since' must be before 'until'" in error_text(bad)
    async with http_client(base, other.api_key) as client:
        hidden = await client.call_tool("get_document", {"document_id": document_id})
        assert "not found" in error_text(hidden)
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource(f"ragaas://documents/{document_id}")


async def test_ingest_url_refuses_bad_urls(base: str, site: str, tenant: Tenant) -> None:
    async with http_client(base, tenant.api_key) as client:

        async def refused(url: str) -> str:
            return error_text(await client.call_tool("ingest_url", {"url": url}))

        assert "only http:// and https://" in await refused("ftp://example.com/file.txt")
        assert "link-local" in await refused("http://169.254.169.254/latest/")
        assert "link-local" in await refused(f"{site}/moved")  # checked again after a redirect
        assert "the limit is 2097152" in await refused(f"{site}/big.txt")
        assert "larger than the limit of 2097152 bytes" in await refused(f"{site}/stream.txt")
        assert "HTTP 404" in await refused(f"{site}/missing")


async def test_legacy_handshake_clients_work_too(base: str, tenant: Tenant) -> None:
    async with http_client(base, tenant.api_key, mode="legacy") as client:
        assert client.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
        assert len((await client.list_tools()).tools) == len(ALL_TOOLS)
        out = structured(await client.call_tool("search", {"query": "holiday"}))
        assert out["mode"] == "hybrid"


async def test_a_revoked_key_is_refused_at_once(
    base: str, tenant: Tenant, runtime: Runtime
) -> None:
    key = await scoped_key(runtime, tenant, Permission.QUERY)
    async with httpx.AsyncClient(base_url=base, headers=tenant.headers) as http:
        keys = (await http.get("/v1/api-keys")).json()
        prefix = key.split("_")[1]
        key_id = next(k["id"] for k in keys if k["prefix"] == prefix)
        assert (await http.delete(f"/v1/api-keys/{key_id}")).status_code in (200, 204)
        refused = await http.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {key}"}
        )
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the API key has been revoked"
