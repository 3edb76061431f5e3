"""The LLM chains with a language model (the recording OpenAI-compatible double, over HTTP) and
under rules, through the MCP SDK's in-process client on the same server the transports serve."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from mcp.client.client import Client

from ragaas.mcp.access import FromApiKey
from ragaas.mcp.chains.multipart import SPLIT_PROMPT
from ragaas.mcp.server import build_server
from ragaas.mcp.services import Services
from ragaas.providers.llm.openai_compatible import OpenAICompatibleChat
from ragaas.runtime import Runtime
from tests.conftest import Tenant, serve_in_thread, wait_for_document
from tests.llm_double import RecordingLLM
from tests.mcp.helpers import HANDBOOK, SECURITY, error_text, structured


class ScriptedLLM(RecordingLLM):
    """Answers each request with the next scripted reply (the last one repeats)."""

    def __init__(self) -> None:
        self.script: list[str] = ["Staff park in garage P3 [1]."]
        super().__init__()

    @property  # type: ignore[override]
    def reply(self) -> str:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    @reply.setter
    def reply(self, value: str) -> None:
        self.script = [value]

    def system(self, i: int) -> str:
        return str(self.requests[i]["messages"][0]["content"])

    def user(self, i: int) -> str:
        return str(self.requests[i]["messages"][-1]["content"])


@pytest.fixture
def llm() -> Iterator[tuple[ScriptedLLM, str]]:
    double = ScriptedLLM()
    with serve_in_thread(double.app()) as base:
        yield double, f"{base}/v1"


@contextlib.asynccontextmanager
async def mcp_client(runtime: Runtime, key: str, llm_url: str | None) -> AsyncIterator[Client]:
    """The MCP server in-process, as ``key``, with the double as its LLM (or none)."""
    model = (
        OpenAICompatibleChat(base_url=llm_url, model="base-model", api_key="k") if llm_url else None
    )
    services = Services.from_runtime(dataclasses.replace(runtime, chat_model=model))
    server, _ = build_server(services, FromApiKey(services, key))
    try:
        async with Client(server, cache=None) as client:
            yield client
    finally:
        if model is not None:
            await model.aclose()


async def add(
    client: httpx.AsyncClient, tenant: Tenant, title: str, text: str, **extra: Any
) -> str:
    created = await client.post(
        "/v1/documents", json={"title": title, "text": text, **extra}, headers=tenant.headers
    )
    document_id = str(created.json()["id"])
    assert (await wait_for_document(client, tenant.headers, document_id))["status"] == "ready"
    return document_id


async def test_summarize_with_an_llm_records_tokens(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, llm: tuple[ScriptedLLM, str]
) -> None:
    double, url = llm
    handbook = await add(client, tenant, "Staff handbook", HANDBOOK)
    double.reply = "Staff get 25 days of holiday [1] and park in garage P3 [1]."
    async with mcp_client(runtime, tenant.api_key, url) as mcp:
        summary = structured(
            await mcp.call_tool(
                "summarize_documents", {"document_ids": [handbook], "query": "holiday"}
            )
        )
    assert summary["answerer"] == "llm"
    assert summary["answer"] == double.script[0]
    assert [c["document_id"] for c in summary["citations"]] == [handbook]
    assert double.system(0).startswith("Summarise the numbered sources")
    assert "[1] Staff handbook" in double.user(0)
    assert "Focus on: holiday" in double.user(0)
    history = await client.get(f"/v1/queries/{summary['query_id']}", headers=tenant.headers)
    metrics = history.json()["metrics"]
    assert metrics["tool"] == "summarize_documents"
    assert metrics["tokens_in"] == 50
    assert metrics["answerer"] == "llm"


async def test_compare_with_an_llm_parses_points(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, llm: tuple[ScriptedLLM, str]
) -> None:
    double, url = llm
    handbook = await add(client, tenant, "Staff handbook", HANDBOOK)
    security = await add(client, tenant, "Security policy", SECURITY)
    double.reply = (
        "Similarities:\n- Both are rules for staff [1][2]\n"
        "Differences:\n- Only the handbook covers parking [1]\n- Only the policy covers keys [2]"
    )
    async with mcp_client(runtime, tenant.api_key, url) as mcp:
        compared = structured(
            await mcp.call_tool(
                "compare_documents",
                {"document_a": handbook, "document_b": security, "aspect": "staff rules"},
            )
        )
    assert compared["similarities"] == [{"text": "Both are rules for staff", "citations": [1, 2]}]
    assert [p["citations"] for p in compared["differences"]] == [[1], [2]]
    assert [c["document_id"] for c in compared["citations"]] == [handbook, security]
    assert "Document A: Staff handbook (sources 1)" in double.user(0)
    assert "Compare them on: staff rules" in double.user(0)


async def test_extract_with_an_llm_validates_against_the_schema(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, llm: tuple[ScriptedLLM, str]
) -> None:
    double, url = llm
    handbook = await add(client, tenant, "Staff handbook", HANDBOOK)
    schema = {
        "type": "object",
        "properties": {"holiday_days": {"type": "integer"}, "garage": {"type": "string"}},
        "required": ["holiday_days"],
    }
    arguments = {"document_id": handbook, "fields_schema": schema}
    async with mcp_client(runtime, tenant.api_key, url) as mcp:
        double.reply = (
            '```json\n{"holiday_days": {"value": 25, "source": 1}, '
            '"garage": {"value": "P3", "source": 1}}\n```'
        )
        good = structured(await mcp.call_tool("extract_fields", arguments))
        double.reply = '{"holiday_days": {"value": "twenty-five", "source": 1}}'
        bad = structured(await mcp.call_tool("extract_fields", arguments))
        double.reply = "I cannot help with that."
        prose = structured(await mcp.call_tool("extract_fields", arguments))
        invalid = await mcp.call_tool(
            "extract_fields", {"document_id": handbook, "fields_schema": {"type": "nope"}}
        )
    assert good["values"] == {"holiday_days": 25, "garage": "P3"}
    assert good["valid"] is True
    assert good["answerer"] == "llm"
    assert good["sources"]["garage"]["citation"] == 1
    assert "garage P3" in good["sources"]["garage"]["snippet"]
    assert '"holiday_days"' in double.user(0)
    assert bad["valid"] is False
    assert bad["errors"] == ["holiday_days: 'twenty-five' is not of type 'integer'"]
    assert prose["valid"] is False
    assert "the language model's reply was not a JSON object" in prose["errors"]
    assert "fields_schema is not a valid JSON schema" in error_text(invalid)


async def test_multipart_with_an_llm_decomposes_answers_and_combines(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, llm: tuple[ScriptedLLM, str]
) -> None:
    double, url = llm
    handbook = await add(client, tenant, "Staff handbook", HANDBOOK)
    security = await add(client, tenant, "Security policy", SECURITY)
    double.script = [
        "1. Where do staff park?\n2. What do staff get for security on their first day?",
        "In garage P3 [1].",
        "A hardware security key [1].",
        "Staff park in garage P3 [1] and get a security key on day one [2].",
    ]
    async with mcp_client(runtime, tenant.api_key, url) as mcp:
        out = structured(
            await mcp.call_tool(
                "answer_multipart",
                {"question": "Where do staff park, and what do they get on their first day?"},
            )
        )
    assert out["decomposed_by"] == "llm"
    assert [p["question"] for p in out["parts"]] == [
        "Where do staff park?",
        "What do staff get for security on their first day?",
    ]
    assert out["parts"][0]["citations"] == [1]
    assert out["parts"][1]["answer"] == "A hardware security key [2]."
    assert out["answer"].endswith("[2].")
    assert [c["document_id"] for c in out["citations"]] == [handbook, security]
    assert double.system(0) == SPLIT_PROMPT
    assert "Part 2: What do staff get for security" in double.user(3)
    assert "Answer: A hardware security key [2]." in double.user(3)


async def test_rules_apply_to_the_chains(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    handbook = await add(client, tenant, "Staff handbook", HANDBOOK, labels=["hr"])
    rules = [
        {
            "name": "no salaries",
            "type": "guardrail",
            "condition": 'query.contains("salary")',
            "action": {"type": "block", "message": "Ask HR about salaries."},
        },
        {
            "name": "no hr",
            "type": "filter",
            "condition": "true",
            "action": {"type": "restrict", "exclude_labels": ["hr"]},
        },
    ]
    for rule in rules:
        created = await client.post("/v1/rules", json=rule, headers=tenant.headers)
        assert created.status_code == 201, created.text
    async with mcp_client(runtime, tenant.api_key, None) as mcp:
        blocked = structured(
            await mcp.call_tool("answer_multipart", {"question": "What is my salary?"})
        )
        restricted = structured(
            await mcp.call_tool("summarize_documents", {"document_ids": [handbook]})
        )
        searched = structured(await mcp.call_tool("search", {"query": "salary bands"}))
    assert blocked["blocked"] is True
    assert blocked["answer"] == "Ask HR about salaries."
    assert blocked["parts"] == []
    assert searched["blocked"] == "Ask HR about salaries."
    assert searched["results"] == []
    assert restricted["answerer"] == "extractive"
    assert restricted["citations"] == []
    assert restricted["answer"] == "None of the documents had passages to summarise."
    history = await client.get(f"/v1/queries/{blocked['query_id']}", headers=tenant.headers)
    assert history.json()["blocked"] is True
