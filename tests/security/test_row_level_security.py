"""PostgreSQL row-level security isolates organisations even where code forgets to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Select, func, select, text, update
from sqlalchemy.exc import DBAPIError

from ragaas.auth import api_keys
from ragaas.models import ApiKey, Rule, User
from ragaas.runtime import Runtime
from ragaas.tenancy.repository import OrgRepository
from ragaas.tenancy.scope import ROLE, scope_session
from tests.conftest import Tenant, TenantFactory, wait_for_document

RULE = {
    "name": "greeting",
    "type": "guardrail",
    "condition": 'query.contains("forbidden")',
    "action": {"type": "block", "message": "no"},
}


def _tenant_sessions(runtime: Runtime) -> Any:
    assert runtime.tenant_sessionmaker is not None
    return runtime.tenant_sessionmaker


async def tenant_tables(runtime: Runtime) -> list[str]:
    """The tables with an organization_id column (what row-level security must cover)."""
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid "
                "WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attname = 'organization_id' "
                "AND NOT a.attisdropped ORDER BY 1"
            )
        )
        return [r[0] for r in rows]


async def _populate(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """A document, a rule, a query in the history: rows in most tenant tables."""
    created = await client.post(
        "/v1/documents",
        json={"title": "Travel policy", "text": f"Trains for trips under 500 km. {uuid.uuid4()}"},
        headers=tenant.headers,
    )
    assert created.status_code == 202, created.text
    await wait_for_document(client, tenant.headers, created.json()["id"])
    rule = await client.post("/v1/rules", json=RULE, headers=tenant.headers)
    assert rule.status_code == 201, rule.text
    search = await client.post("/v1/search", json={"query": "trains"}, headers=tenant.headers)
    assert search.status_code == 200, search.text


async def test_every_tenant_table_is_under_a_policy(runtime: Runtime) -> None:
    tables = await tenant_tables(runtime)
    assert {"documents", "chunks", "chunk_terms", "users", "api_keys"} <= set(tables)
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, "
                "EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid) AS has_policy "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relname = ANY(:tables)"
            ),
            {"tables": [*tables, "organizations"]},
        )
        unprotected = [r.relname for r in rows if not (r.relrowsecurity and r.has_policy)]
    assert unprotected == []


async def test_the_api_role_cannot_bypass_the_policies(runtime: Runtime) -> None:
    async with _tenant_sessions(runtime)() as session:
        role = (
            await session.execute(
                text(
                    "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
        ).one()
        assert (role.name, role.rolsuper, role.rolbypassrls) == (ROLE, False, False)
        for statement in (
            "ALTER TABLE documents DISABLE ROW LEVEL SECURITY",
            "DROP POLICY tenant_isolation ON documents",
            "SET ROLE postgres",
            "SET SESSION AUTHORIZATION postgres",
        ):
            with pytest.raises(DBAPIError, match=r"must be owner|permission denied"):
                async with session.begin_nested():
                    await session.execute(text(statement))
        # Turning row security off does not show rows: it makes policed queries fail instead.
        await session.execute(text("SET LOCAL row_security = off"))
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.execute(text("SELECT count(*) FROM documents"))


async def test_each_organisation_sees_only_its_own_rows(
    runtime: Runtime, client: httpx.AsyncClient, make_tenant: TenantFactory
) -> None:
    first, second = await make_tenant(), await make_tenant()
    await _populate(client, first)
    await _populate(client, second)
    tables = await tenant_tables(runtime)
    async with _tenant_sessions(runtime)() as session:
        for table in tables:  # unscoped: nothing at all
            count = await session.scalar(text(f"SELECT count(*) FROM {table}"))
            assert count == 0, table
        await scope_session(session, first.organization_id)
        seen: dict[str, set[uuid.UUID]] = {}
        for table in tables:
            rows = await session.scalars(text(f"SELECT DISTINCT organization_id FROM {table}"))
            seen[table] = set(rows)
        orgs = await session.scalars(text("SELECT id FROM organizations"))
        assert set(orgs) == {first.organization_id}
    assert all(orgs <= {first.organization_id} for orgs in seen.values()), seen
    populated = {t for t, orgs in seen.items() if orgs}
    assert {"documents", "chunks", "chunk_terms", "rules", "query_history", "users"} <= populated


async def test_writes_into_another_organisation_are_refused(
    runtime: Runtime, make_tenant: TenantFactory
) -> None:
    first, second = await make_tenant(), await make_tenant()
    async with _tenant_sessions(runtime)() as session:
        await scope_session(session, first.organization_id)
        moved = await session.execute(
            text("UPDATE users SET role = 'viewer' WHERE organization_id = :other"),
            {"other": second.organization_id},
        )
        assert moved.rowcount == 0  # type: ignore[attr-defined]
        session.add(
            Rule(
                organization_id=second.organization_id,
                name="x",
                type="guardrail",
                condition="true",
                action={},
            )
        )
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.flush()


async def test_a_query_that_forgets_the_scope_in_code_still_sees_one_organisation(
    client: httpx.AsyncClient, make_tenant: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await make_tenant(), await make_tenant()
    for tenant in (first, second):
        created = await client.post("/v1/rules", json=RULE, headers=tenant.headers)
        assert created.status_code == 201, created.text

    def unscoped(self: OrgRepository[Any]) -> Select[Any]:
        return select(self.model)  # the organisation filter, forgotten

    monkeypatch.setattr(OrgRepository, "base", unscoped)
    for tenant in (first, second):
        rules = await client.get("/v1/rules", headers=tenant.headers)
        assert rules.status_code == 200
        assert len(rules.json()) == 1
        users = await client.get("/v1/users", headers=tenant.headers)
        assert [u["email"] for u in users.json()] == [tenant.email]


_CURRENT = text("SELECT ragaas_current_organization()")


async def test_the_authentication_lookups_declare_only_a_valid_credential(
    runtime: Runtime, make_tenant: TenantFactory
) -> None:
    """Migration 0012's owner-run lookups: nothing without the credential, scope only when valid."""
    tenant = await make_tenant()
    prefix = api_keys.split_prefix(tenant.api_key)
    lookup = text("SELECT * FROM ragaas_authenticate_key(:prefix, :key_hash)")
    user_lookup = text("SELECT * FROM ragaas_authenticate_user(:user_id, :org, :issued_at)")
    now = datetime.now(UTC)
    async with _tenant_sessions(runtime)() as session:
        # The prefix alone (or a wrong key) finds nothing and declares nothing.
        wrong = {"prefix": prefix, "key_hash": api_keys.hash_key(tenant.api_key + "x")}
        assert (await session.execute(lookup, wrong)).first() is None
        assert await session.scalar(_CURRENT) is None
        assert await session.scalar(select(func.count()).select_from(ApiKey)) == 0
        right = {"prefix": prefix, "key_hash": api_keys.hash_key(tenant.api_key)}
        row = (await session.execute(lookup, right)).one()
        assert (row.organization_id, row.user_id) == (tenant.organization_id, tenant.user_id)
        assert await session.scalar(_CURRENT) == tenant.organization_id
        assert await session.scalar(select(func.count()).select_from(ApiKey)) >= 1
        await session.rollback()
        # A user is found only in its own organisation, and a token older than the user's
        # revocation is reported without declaring anything.
        other = {"user_id": tenant.user_id, "org": uuid.uuid4(), "issued_at": now}
        assert (await session.execute(user_lookup, other)).first() is None
        assert await session.scalar(_CURRENT) is None
        valid = {"user_id": tenant.user_id, "org": tenant.organization_id, "issued_at": now}
        assert (await session.execute(user_lookup, valid)).one().email == tenant.email
        assert await session.scalar(_CURRENT) == tenant.organization_id
        await session.rollback()
    async with runtime.sessionmaker() as owner:
        await owner.execute(update(ApiKey).where(ApiKey.prefix == prefix).values(revoked_at=now))
        await owner.execute(
            update(User).where(User.id == tenant.user_id).values(tokens_revoked_at=now)
        )
        await owner.commit()
    async with _tenant_sessions(runtime)() as session:
        row = (await session.execute(lookup, right)).one()
        assert row.revoked_at is not None
        assert await session.scalar(_CURRENT) is None
        stale = {
            "user_id": tenant.user_id,
            "org": tenant.organization_id,
            "issued_at": now - timedelta(seconds=1),
        }
        assert (await session.execute(user_lookup, stale)).one().tokens_revoked_at is not None
        assert await session.scalar(_CURRENT) is None
