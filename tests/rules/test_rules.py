"""Rules changing real queries end to end: filter, redact, block, switch config, instruct,
require citations, cap length; validation; the dry run; evaluation errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ragaas.models import QueryHistory
from ragaas.runtime import Runtime
from tests.conftest import Tenant, wait_for_document
from tests.llm_double import RecordingLLM

DOCS = [
    ("Salaries", "Salary bands are reviewed every April by the pay committee.", ["hr"]),
    ("Parking", "Staff park their cars in garage P3, level minus two.", ["facilities"]),
]


async def _ingest(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for title, text, labels in DOCS:
        created = await client.post(
            "/v1/documents",
            json={"title": title, "text": text, "labels": labels},
            headers=tenant.headers,
        )
        await wait_for_document(client, tenant.headers, created.json()["id"])


async def _rule(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/rules", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()
    return rule


async def _user(
    client: httpx.AsyncClient, tenant: Tenant, name: str, groups: list[str]
) -> dict[str, str]:
    email = f"{name}-{tenant.organization_id.hex[:6]}@example.test"
    created = await client.post(
        "/v1/users",
        json={"email": email, "password": "a long password", "role": "viewer", "groups": groups},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    login = await client.post(
        "/v1/auth/login", json={"email": email, "password": "a long password"}
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _history(runtime: Runtime, query_id: str) -> QueryHistory:
    async with runtime.sessionmaker() as session:
        row = await session.get(QueryHistory, query_id)
    assert row is not None
    return row


async def test_hr_documents_only_for_the_hr_group(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _ingest(client, tenant)
    await _rule(
        client,
        tenant,
        name="hr only",
        type="filter",
        condition='!("hr" in user.roles)',
        action={"type": "restrict", "exclude_labels": ["hr"]},
    )
    outsider = await _user(client, tenant, "outsider", [])
    insider = await _user(client, tenant, "insider", ["hr"])
    query = {"query": "salary bands review", "mode": "lexical"}

    hidden = await client.post("/v1/search", json=query, headers=outsider)
    assert [r["title"] for r in hidden.json()["results"]] == []
    seen = await client.post("/v1/search", json=query, headers=insider)
    assert [r["title"] for r in seen.json()["results"]] == ["Salaries"]
    asked = await client.post(
        "/v1/chat", json={"query": "When are salary bands reviewed?"}, headers=outsider
    )
    assert "April" not in asked.json()["answer"]
    assert asked.json()["metrics"]["rules"][0]["name"] == "hr only"
    answered = await client.post(
        "/v1/chat", json={"query": "When are salary bands reviewed?"}, headers=insider
    )
    assert "April" in answered.json()["answer"]
    assert "rules" not in answered.json()["metrics"]

    # Moving the user into the group (PATCH) takes effect on the next query.
    me = await client.get("/v1/auth/me", headers=outsider)
    patched = await client.patch(
        f"/v1/users/{me.json()['user_id']}", json={"groups": ["hr"]}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    now_seen = await client.post("/v1/search", json=query, headers=outsider)
    assert [r["title"] for r in now_seen.json()["results"]] == ["Salaries"]


async def test_pii_in_a_query_is_stored_redacted(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    await _ingest(client, tenant)
    await _rule(
        client,
        tenant,
        name="no pii",
        type="guardrail",
        condition="size(entities.email) > 0 || size(entities.card) > 0",
        action={"type": "redact", "targets": ["query"]},
        priority=10,
    )
    response = await client.post(
        "/v1/chat",
        json={"query": "I am jane@acme.example, card 4111 1111 1111 1111: where do I park?"},
        headers=tenant.headers,
    )
    body = response.json()
    assert body["blocked"] is False
    assert body["metrics"]["rules"] == [
        {"rule_id": body["metrics"]["rules"][0]["rule_id"], "name": "no pii", "type": "guardrail",
         "stage": "before_retrieval", "action": "redact", "redacted": 2}
    ]  # fmt: skip
    row = await _history(runtime, body["query_id"])
    assert row.query == "I am [REDACTED:email], card [REDACTED:card]: where do I park?"
    assert "jane@acme" not in str(row.metrics)


async def test_a_blocked_query_gets_the_message_and_is_recorded_blocked(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    await _ingest(client, tenant)
    rule = await _rule(
        client,
        tenant,
        name="no credentials",
        type="guardrail",
        condition='query.matches("(?i)\\\\bpasswords?\\\\b")',
        action={"type": "block", "message": "Ask IT about passwords, not the assistant."},
    )
    chat = await client.post(
        "/v1/chat", json={"query": "What is the admin password?"}, headers=tenant.headers
    )
    body = chat.json()
    assert (body["blocked"], body["answer"], body["citations"]) == (
        True,
        "Ask IT about passwords, not the assistant.",
        [],
    )
    row = await _history(runtime, body["query_id"])
    assert row.blocked is True
    assert row.metrics["rules"][0]["rule_id"] == rule["id"]
    assert "retrieved" not in row.metrics  # stopped before retrieval

    search = await client.post(
        "/v1/search", json={"query": "password reset"}, headers=tenant.headers
    )
    assert search.json()["blocked"] == "Ask IT about passwords, not the assistant."
    assert search.json()["results"] == []
    streamed = await client.post(
        "/v1/chat", json={"query": "my password?", "stream": True}, headers=tenant.headers
    )
    assert "Ask IT about passwords" in streamed.text
    assert '"blocked": true' in streamed.text
    blocked = await client.get("/v1/queries", params={"blocked": "true"}, headers=tenant.headers)
    assert blocked.json()["total"] == 3
    hits = await client.get("/v1/analytics/guardrails", headers=tenant.headers)
    assert hits.json()[0]["hits"] == 3

    # Switched off, the rule stops firing.
    off = await client.patch(
        f"/v1/rules/{rule['id']}", json={"active": False}, headers=tenant.headers
    )
    assert off.status_code == 200
    again = await client.post(
        "/v1/search", json={"query": "password reset"}, headers=tenant.headers
    )
    assert again.json()["blocked"] is None


async def test_switch_config_and_blocking_after_retrieval(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _ingest(client, tenant)
    created = await client.post(
        "/v1/rag-configs",
        json={"name": "viewers", "params": {"top_k": 1, "mode": "lexical"}},
        headers=tenant.headers,
    )
    assert created.status_code == 201
    await _rule(
        client,
        tenant,
        name="viewers get the narrow config",
        type="business_logic",
        condition='user.role == "viewer"',
        action={"type": "switch_config", "config": "viewers"},
    )
    await _rule(
        client,
        tenant,
        name="no hr passages for api keys",
        type="guardrail",
        stage="after_retrieval",
        condition='user.api_key && chunks.exists(c, "hr" in c.labels)',
        action={"type": "block", "message": "HR material is not available through API keys."},
    )
    viewer = await _user(client, tenant, "v", [])
    narrow = await client.post("/v1/search", json={"query": "staff park garage"}, headers=viewer)
    assert len(narrow.json()["results"]) == 1
    assert narrow.json()["mode"] == "lexical"

    by_key = await client.post("/v1/search", json={"query": "salary bands"}, headers=tenant.headers)
    assert by_key.json()["blocked"] == "HR material is not available through API keys."
    parking = await client.post(
        "/v1/search", json={"query": "garage P3", "mode": "lexical"}, headers=tenant.headers
    )
    assert [r["title"] for r in parking.json()["results"]] == ["Parking"]
    assert parking.json()["blocked"] is None


async def test_generation_rules_instruct_require_citations_and_cap(
    client: httpx.AsyncClient,
    llm_client: httpx.AsyncClient,
    tenant: Tenant,
    recording_llm: tuple[RecordingLLM, str],
) -> None:
    llm, _ = recording_llm
    await _ingest(client, tenant)
    await _rule(
        client,
        tenant,
        name="formal",
        type="business_logic",
        condition="true",
        action={"type": "instruct", "text": "Address the reader formally."},
    )
    await _rule(
        client,
        tenant,
        name="cited or nothing",
        type="guardrail",
        stage="after_generation",
        condition="true",
        action={"type": "require_citations", "message": "No cited answer is possible."},
    )
    cited = await llm_client.post(
        "/v1/chat", json={"query": "Where do staff park?"}, headers=tenant.headers
    )
    assert cited.json()["answer"] == "Staff park in garage P3 [1]."
    assert llm.requests[-1]["messages"][0]["content"].endswith("Address the reader formally.")

    llm.reply = "Somewhere nice, probably."
    refused = await llm_client.post(
        "/v1/chat", json={"query": "Where do staff park?"}, headers=tenant.headers
    )
    assert (refused.json()["answer"], refused.json()["citations"]) == (
        "No cited answer is possible.",
        [],
    )

    llm.reply = "Staff park in garage P3 on level minus two, next to the bicycle racks [1]."
    await _rule(
        client,
        tenant,
        name="short",
        type="business_logic",
        stage="after_generation",
        condition="size(answer) > 40",
        action={"type": "cap_length", "max_chars": 40},
        priority=200,
    )
    capped = await llm_client.post(
        "/v1/chat", json={"query": "Where do staff park?"}, headers=tenant.headers
    )
    assert capped.json()["answer"] == "Staff park in garage P3 on level minus…"
    streamed = await llm_client.post(
        "/v1/chat", json={"query": "Where do staff park?", "stream": True}, headers=tenant.headers
    )
    deltas = [line for line in streamed.text.splitlines() if line.startswith("event: delta")]
    assert len(deltas) == 1  # held back for the after-generation rules, then sent whole
    assert '"answer": "Staff park in garage P3 on level minus\\u2026"' in streamed.text


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"condition": "user.roles ++"}, "invalid CEL condition"),
        ({"stage": "after_generation", "action": {"type": "restrict", "labels": ["x"]}},
         "cannot run at after_generation"),
        ({"action": {"type": "restrict"}}, "needs labels, exclude_labels or metadata"),
        ({"action": {"type": "teleport"}}, "teleport"),
        ({"type": "whim"}, "type"),
    ],
)  # fmt: skip
async def test_invalid_rules_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], detail: str
) -> None:
    rule = {
        "name": "x",
        "type": "guardrail",
        "condition": "true",
        "action": {"type": "block", "message": "no"},
        **body,
    }
    response = await client.post("/v1/rules", json=rule, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert detail in response.text


async def test_dry_run_and_evaluation_errors(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _rule(
        client,
        tenant,
        name="broken at run time",
        type="guardrail",
        condition="user.department == 'x'",  # no such field: an evaluation error
        action={"type": "block", "message": "never"},
        priority=1,
    )
    await _rule(
        client,
        tenant,
        name="no cards",
        type="guardrail",
        condition="size(entities.card) > 0",
        action={"type": "block", "message": "No card numbers, please."},
    )
    await _rule(
        client,
        tenant,
        name="short answers",
        type="business_logic",
        stage="after_generation",
        condition="true",
        action={"type": "cap_length", "max_chars": 20},
    )
    fine = await client.post(
        "/v1/rules/test",
        json={"query": "where to park", "answer": "In the garage on level minus two.", "cited": 1},
        headers=tenant.headers,
    )
    body = fine.json()
    assert body["blocked"] is False
    assert body["answer"] == "In the garage on…"
    assert [f["name"] for f in body["fired"]] == ["short answers"]
    assert body["errors"][0]["name"] == "broken at run time"
    assert "department" in body["errors"][0]["error"]

    card = await client.post(
        "/v1/rules/test", json={"query": "card 4111 1111 1111 1111"}, headers=tenant.headers
    )
    assert (card.json()["blocked"], card.json()["message"]) == (True, "No card numbers, please.")
