"""Cross-organisation isolation, generated from the API's own OpenAPI document.

Every operation that takes an object id in its path is called with another organisation's ids, by
every role of this organisation: each answer must be 403 or 404, and the other organisation's
rows must be byte-for-byte unchanged afterwards. Every list, search and analytics operation is
called too: no answer may contain anything of the other organisation. A new operation is covered
automatically; one whose path parameter or body this file does not know fails with a message
saying what to add.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from ragaas.auth.permissions import Role
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory, wait_for_document
from tests.security.test_row_level_security import tenant_tables

PASSWORD = "a long and unusual passphrase 42"
HOOK = {"url": "https://hooks.example.test/isolation", "secret": "s" * 24}

# Bodies for operations that take an id and a body: valid, so only the id decides the answer.
BODIES: dict[str, Any] = {
    "users_update": {"role": "viewer"},
    "data_sources_update": {"name": "taken over"},
    "rag_configs_update": {"top_k": 3},
    "rules_update": {"name": "taken over"},
    "queries_feedback": {"rating": 1},
    "alerts_update": {"name": "taken over"},
    "sso_providers_update": {"name": "taken over"},
}
# Collection operations whose answer is checked for leaks, and the body they need.
# The query names words of both organisations' documents; the answer must hold only the caller's.
QUERY = "secret plans"
COLLECTION_BODIES: dict[str, Any] = {
    "search": {"query": QUERY},
    "chat": {"query": QUERY},
    "openai_chat_completions": {
        "model": "ragaas",
        "messages": [{"role": "user", "content": QUERY}],
    },
    "rules_test": {"query": QUERY},
}
# Not about another organisation's objects: creation, the caller itself, public probes.
SKIP = {
    "health",
    "ready",
    "auth_login",
    "auth_refresh",
    "auth_me",
    "auth_logout",  # its refresh token says whose session ends (tests/auth/test_sessions.py)
    "auth_change_password",  # the caller's own password
    "auth_oidc_login",  # public by design: the slug names a provider, the IdP authenticates
    "auth_oidc_callback",  # bound to the state cookie of the login that started it
    "users_create",
    "api_keys_create",
    "documents_create",
    "data_sources_create",
    "rag_configs_create",
    "rules_create",
    "alerts_create",
    "sso_providers_create",
    "data_source_types",
}


@dataclass
class Victim:
    tenant: Tenant
    marker: str
    ids: dict[str, str]  # path parameter name -> an object of the victim's


async def _create(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> Any:
    response = await client.post(path, json=body, headers=tenant.headers)
    assert response.status_code in (200, 201, 202), (path, response.text)
    return response.json()


async def _victim(client: httpx.AsyncClient, settings: Settings, tenant: Tenant) -> Victim:
    marker = f"victim{uuid.uuid4().hex[:12]}"
    doc = await _create(
        client, tenant, "/v1/documents", {"title": marker, "text": f"{marker} secret plans."}
    )
    await wait_for_document(client, tenant.headers, doc["id"])
    folder = settings.source_folder_roots[0] / marker
    folder.mkdir()
    source = await _create(
        client,
        tenant,
        "/v1/data-sources",
        {"name": marker, "type": "file", "config": {"path": str(folder)}},
    )
    rule = await _create(
        client,
        tenant,
        "/v1/rules",
        {
            "name": marker,
            "type": "guardrail",
            "condition": "false",
            "action": {"type": "block", "message": "no"},
        },
    )
    await _create(client, tenant, "/v1/rag-configs", {"name": marker})
    user = await _create(
        client, tenant, "/v1/users", {"email": f"{marker}@victim.test", "password": PASSWORD}
    )
    key = await _create(client, tenant, "/v1/api-keys", {"name": marker, "scopes": ["query"]})
    alert = await _create(
        client, tenant, "/v1/alerts", {"name": marker, "kind": "sync_failed", "webhook": HOOK}
    )
    provider = await _create(
        client,
        tenant,
        "/v1/sso/providers",
        {
            "slug": marker,
            "name": marker,
            "issuer": "https://sso.victim.example",
            "client_id": marker,
        },
    )
    await _create(client, tenant, "/v1/search", {"query": marker})
    queries = await client.get("/v1/queries", headers=tenant.headers)
    query_id = queries.json()["items"][0]["id"]
    ids = {
        "document_id": doc["id"],
        "source_id": source["id"],
        "rule_id": rule["id"],
        "name": marker,
        "user_id": user["id"],
        "key_id": key["id"],
        "alert_id": alert["id"],
        "query_id": query_id,
        "provider_id": provider["id"],
    }
    return Victim(tenant, marker, ids)


async def _attackers(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, dict[str, str]]:
    """Headers of one user per role in the attacking organisation (its admin's key for admin)."""
    headers = {Role.ADMIN.value: tenant.headers}
    for role in Role:
        if role is Role.ADMIN:
            continue
        email = f"{role.value}-{uuid.uuid4().hex[:8]}@attacker.test"
        await _create(
            client, tenant, "/v1/users", {"email": email, "password": PASSWORD, "role": role.value}
        )
        login = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers[role.value] = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return headers


async def _snapshot(runtime: Runtime, organization_id: uuid.UUID) -> dict[str, str | None]:
    """A digest of every row the organisation owns, table by table."""
    tables = await tenant_tables(runtime)
    async with runtime.engine.connect() as connection:
        digests = {}
        for table in tables:
            digests[table] = await connection.scalar(
                text(
                    f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t "
                    "WHERE organization_id = :org"
                ),
                {"org": organization_id},
            )
        return digests


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if op.get("operationId") not in SKIP
    ]


def _path_parameters(op: dict[str, Any]) -> list[str]:
    return [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]


async def test_no_operation_reaches_another_organisations_objects(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    make_tenant: TenantFactory,
) -> None:
    victim = await _victim(client, settings, await make_tenant())
    attacker = await make_tenant()
    roles = await _attackers(client, attacker)
    spec = (await client.get("/openapi.json")).json()
    before = await _snapshot(runtime, victim.tenant.organization_id)

    failures, called = [], 0
    for method, path, op in _operations(spec):
        names = _path_parameters(op)
        if not names:
            continue
        unknown = [n for n in names if n not in victim.ids]
        assert not unknown, f"{op['operationId']}: add a victim object for {unknown}"
        has_body = "requestBody" in op
        assert not has_body or op["operationId"] in BODIES, f"add a body for {op['operationId']}"
        url = path.format(**{n: victim.ids[n] for n in names})
        for role, headers in roles.items():
            body = BODIES.get(op["operationId"]) if has_body else None
            response = await client.request(method, url, json=body, headers=headers)
            called += 1
            if response.status_code not in (403, 404):
                failures.append(f"{role} {method} {url}: {response.status_code} {response.text}")
    assert called >= 4 * 20
    assert failures == []
    assert await _snapshot(runtime, victim.tenant.organization_id) == before


async def test_no_collection_shows_another_organisations_rows(
    client: httpx.AsyncClient,
    settings: Settings,
    make_tenant: TenantFactory,
) -> None:
    victim = await _victim(client, settings, await make_tenant())
    attacker = await make_tenant()
    await _victim(client, settings, attacker)  # the attacker has objects of its own to list
    spec = (await client.get("/openapi.json")).json()
    secrets = [victim.marker, *victim.ids.values()]

    failures, checked = [], 0
    for method, path, op in _operations(spec):
        if _path_parameters(op):
            continue
        operation = op["operationId"]
        if method == "GET":
            response = await client.get(path, headers=attacker.headers)
        else:
            body = COLLECTION_BODIES.get(operation)
            assert body is not None, f"add a body (or a SKIP entry) for {operation}"
            response = await client.request(method, path, json=body, headers=attacker.headers)
        checked += 1
        if response.status_code >= 400:
            failures.append(f"{operation}: {response.status_code} {response.text}")
        leaked = [s for s in secrets if s in response.text]
        if leaked:
            failures.append(f"{operation} shows the other organisation's {leaked}")
    assert checked >= 15
    assert failures == []
