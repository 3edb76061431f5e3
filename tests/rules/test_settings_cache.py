"""Query-time settings (quota, RAG configuration, rules) are read once per settings generation,
and a change applies to the very next query."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, select, text, update

from ragaas.auth.permissions import permissions_for
from ragaas.auth.principal import Principal
from ragaas.models import Organization, RagConfig, Rule
from ragaas.rules.guard import Guarded
from ragaas.rules.schemas import Stage
from ragaas.runtime import Runtime
from tests.conftest import Tenant

QUERY = {"query": "when does the ferry leave"}
BLOCK = {
    "name": "no ferries",
    "type": "guardrail",
    "condition": 'query.contains("ferry")',
    "action": {"type": "block", "message": "not about ferries"},
}


@contextmanager
def _statements(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements the API's (restricted) connections run meanwhile."""
    assert runtime.tenant_engine is not None
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = runtime.tenant_engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def _search(client: httpx.AsyncClient, tenant: Tenant) -> httpx.Response:
    response = await client.post("/v1/search", json=QUERY, headers=tenant.headers)
    assert response.status_code in (200, 429), response.text
    return response


async def test_unchanged_settings_are_not_read_again_and_a_change_applies_at_once(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    await _search(client, tenant)
    with _statements(runtime) as seen:
        assert (await _search(client, tenant)).json()["blocked"] is None
    assert seen, "the search ran no SQL at all?"
    for table in ("rules", "rag_configs", "organizations"):
        assert not [s for s in seen if f"FROM {table}" in s], (table, seen)

    # A rule, then its deactivation: each applies to the very next search.
    rule = await client.post("/v1/rules", json=BLOCK, headers=tenant.headers)
    assert rule.status_code == 201, rule.text
    assert (await _search(client, tenant)).json()["blocked"] == "not about ferries"
    off = await client.patch(
        f"/v1/rules/{rule.json()['id']}", json={"active": False}, headers=tenant.headers
    )
    assert off.status_code == 200, off.text
    assert (await _search(client, tenant)).json()["blocked"] is None

    # A new default configuration.
    config = {"name": "lexical", "params": {"mode": "lexical"}, "is_default": True}
    created = await client.post("/v1/rag-configs", json=config, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert (await _search(client, tenant)).json()["mode"] == "lexical"

    # An operator's quota override (as `ragaas admin set-quota` writes it).
    async with runtime.sessionmaker() as owner:
        await owner.execute(
            update(Organization)
            .where(Organization.id == tenant.organization_id)
            .values(max_queries_per_day=1)
        )
        await owner.commit()
    refused = await _search(client, tenant)
    assert refused.status_code == 429, refused.text
    assert refused.json()["quota"] == "queries_per_day"


async def test_the_generation_moves_with_settings_and_only_with_them(
    runtime: Runtime, tenant: Tenant
) -> None:
    async def generation() -> int:
        async with runtime.sessionmaker() as session:
            value = await session.scalar(
                text("SELECT settings_generation FROM organizations WHERE id = :org"),
                {"org": tenant.organization_id},
            )
            return int(value)

    async def run(sql: str) -> None:
        async with runtime.sessionmaker() as session:
            await session.execute(text(sql), {"org": tenant.organization_id})
            await session.commit()

    start = await generation()
    await run("UPDATE organizations SET name = name || '-renamed' WHERE id = :org")
    assert await generation() == start
    await run("UPDATE organizations SET max_documents = 10 WHERE id = :org")
    assert await generation() == start + 1
    async with runtime.sessionmaker() as session:
        rule = Rule(
            organization_id=tenant.organization_id,
            name="r",
            type="guardrail",
            condition="true",
            action={"type": "block", "message": "m"},
        )
        session.add(rule)
        await session.commit()
    assert await generation() == start + 2
    await run("UPDATE rules SET active = false WHERE organization_id = :org")
    assert await generation() == start + 3
    async with runtime.sessionmaker() as session:
        session.add(RagConfig(organization_id=tenant.organization_id, name="c"))
        await session.commit()
    assert await generation() == start + 4
    await run("DELETE FROM rag_configs WHERE organization_id = :org")
    assert await generation() == start + 5


async def test_cached_rules_outlive_the_session_that_read_them(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    """A request that fails after reading the rules rolls its session back; the rules it cached
    must still serve the next request."""
    rule = await client.post("/v1/rules", json=BLOCK, headers=tenant.headers)
    assert rule.status_code == 201, rule.text
    async with runtime.sessionmaker() as session:
        generation = await session.scalar(
            select(Organization.settings_generation).where(
                Organization.id == tenant.organization_id
            )
        )
    principal = Principal(
        tenant.user_id,
        tenant.organization_id,
        "admin",
        permissions_for("admin"),
        email=tenant.email,
        groups=(),
        settings_generation=generation,
    )
    async with runtime.tenant_session(tenant.organization_id) as session:
        first = await Guarded.start(session, principal, QUERY["query"], None)
        await session.rollback()  # as a failed request's does
    async with runtime.tenant_session(tenant.organization_id) as session:
        again = await Guarded.start(session, principal, QUERY["query"], None)
        assert again.engine is first.engine  # from the cache
        assert not await again.stage(Stage.BEFORE_RETRIEVAL)
        assert again.blocked == "not about ferries"
