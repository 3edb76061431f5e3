"""The audit log: one row per change, in the change's transaction, append-only in PostgreSQL,
readable and exportable by admins of the organisation only."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from ragaas.audit import record
from ragaas.audit.service import Actor
from ragaas.cli.main import app
from ragaas.models import ActorKind
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory, wait_for_document

PASSWORD = "s3cret-Pa55word-audit"
DB_URL = f"postgresql+psycopg://reader:{PASSWORD}@db.example.internal:5432/crm"
WEBHOOK_SECRET = "whsec-audit-0123456789abcdef"
HOOK_URL = "https://hooks.example.test/services/T000/B000/AUDITTOKEN"
AGENT = "audit-test/1.0"


async def _events(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/audit", params={"limit": 200, **params}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _one(client: httpx.AsyncClient, tenant: Tenant, action: str) -> dict[str, Any]:
    """The single event with exactly this action (fails on none or several)."""
    rows = [e for e in await _events(client, tenant, action=action) if e["action"] == action]
    assert len(rows) == 1, (action, rows)
    return rows[0]


async def _key_id(client: httpx.AsyncClient, tenant: Tenant) -> str:
    me = await client.get("/v1/auth/me", headers=tenant.headers)
    key_id: str = me.json()["api_key_id"]
    return key_id


async def test_every_hooked_action_writes_one_row_with_actor_object_and_no_secret(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    h = {**tenant.headers, "User-Agent": AGENT}
    key_id = await _key_id(client, tenant)

    # Logins, good and bad (the password never appears).
    ok = await client.post(
        "/v1/auth/login", json={"email": tenant.email, "password": tenant.password}, headers=h
    )
    assert ok.status_code == 200
    bad = await client.post(
        "/v1/auth/login", json={"email": tenant.email, "password": "wrong-guess-123"}, headers=h
    )
    assert bad.status_code == 401
    login = await _one(client, tenant, "auth.login")
    assert login["actor_kind"] == ActorKind.USER
    assert login["actor_user_id"] == str(tenant.user_id)
    assert login["object_id"] == str(tenant.user_id)
    assert login["user_agent"] == AGENT
    assert login["client_ip"]
    failed = await _one(client, tenant, "auth.login_failed")
    assert failed["actor_kind"] == ActorKind.ANONYMOUS
    assert failed["actor_user_id"] is None
    assert failed["details"] == {"email": tenant.email}
    access = {"Authorization": f"Bearer {ok.json()['access_token']}", "User-Agent": AGENT}

    # Users (with a JWT: actor kind user) and API keys.
    user = await client.post(
        "/v1/users",
        json={"email": "dev@audit.test", "password": "another long pw", "role": "developer"},
        headers=access,
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    created_user = await _one(client, tenant, "user.create")
    assert created_user["actor_kind"] == ActorKind.USER
    assert created_user["actor_api_key_id"] is None
    assert (created_user["object_type"], created_user["object_id"]) == ("user", user_id)
    assert created_user["details"] == {"email": "dev@audit.test", "role": "developer", "groups": []}
    patched = await client.patch(
        f"/v1/users/{user_id}", json={"role": "analyst", "groups": ["hr"]}, headers=h
    )
    assert patched.status_code == 200
    updated = await _one(client, tenant, "user.update")
    assert updated["actor_kind"] == ActorKind.API_KEY
    assert updated["actor_api_key_id"] == key_id
    assert updated["details"] == {
        "changed": ["groups", "role"],
        "role": "analyst",
        "groups": ["hr"],
        "active": True,
    }
    key = await client.post("/v1/api-keys", json={"name": "ci", "scopes": ["query"]}, headers=h)
    assert key.status_code == 201
    plaintext = key.json()["key"]
    revoked = await client.delete(f"/v1/api-keys/{key.json()['id']}", headers=h)
    assert revoked.status_code == 200
    key_created = await _one(client, tenant, "api_key.create")
    assert key_created["object_id"] == key.json()["id"]
    assert key_created["details"]["scopes"] == ["query"]
    assert (await _one(client, tenant, "api_key.revoke"))["object_id"] == key.json()["id"]

    # Data sources: the password in the config is nowhere in the log.
    source = await client.post(
        "/v1/data-sources",
        json={
            "name": "CRM",
            "type": "database",
            "config": {
                "url": DB_URL,
                "query": "SELECT 1 AS id, 'x' AS body",
                "id_column": "id",
                "content_columns": ["body"],
            },
        },
        headers=h,
    )
    assert source.status_code == 201, source.text
    source_id = source.json()["id"]
    assert (
        await client.patch(f"/v1/data-sources/{source_id}", json={"name": "CRM 2"}, headers=h)
    ).status_code == 200
    assert (await client.post(f"/v1/data-sources/{source_id}/sync", headers=h)).status_code == 202
    assert (await client.delete(f"/v1/data-sources/{source_id}", headers=h)).status_code == 204
    created_source = await _one(client, tenant, "source.create")
    assert created_source["object_id"] == source_id
    assert created_source["details"]["config_keys"] == [
        "content_columns",
        "id_column",
        "query",
        "url",
    ]
    assert (await _one(client, tenant, "source.update"))["details"] == {
        "name": "CRM 2",
        "changed": ["name"],
    }
    assert (await _one(client, tenant, "source.sync"))["object_id"] == source_id
    assert (await _one(client, tenant, "source.delete"))["details"]["name"] == "CRM 2"

    # Rules, RAG configs, alerts.
    rule = await client.post(
        "/v1/rules",
        json={
            "name": "hr only",
            "type": "filter",
            "condition": '!("hr" in user.roles)',
            "action": {"type": "restrict", "exclude_labels": ["hr"]},
        },
        headers=h,
    )
    assert rule.status_code == 201, rule.text
    rule_id = rule.json()["id"]
    await client.patch(f"/v1/rules/{rule_id}", json={"active": False}, headers=h)
    await client.delete(f"/v1/rules/{rule_id}", headers=h)
    assert (await _one(client, tenant, "rule.create"))["object_id"] == rule_id
    assert (await _one(client, tenant, "rule.update"))["details"]["changed"] == ["active"]
    assert (await _one(client, tenant, "rule.delete"))["details"] == {"name": "hr only"}

    config = await client.post(
        "/v1/rag-configs", json={"name": "tight", "params": {"top_k": 2}}, headers=h
    )
    assert config.status_code == 201, config.text
    await client.put("/v1/rag-configs/tight", json={"is_default": True}, headers=h)
    await client.delete("/v1/rag-configs/tight", headers=h)
    assert (await _one(client, tenant, "rag_config.create"))["object_id"] == "tight"
    assert (await _one(client, tenant, "rag_config.update"))["details"] == {
        "version": 2,
        "changed": ["is_default"],
    }
    assert (await _one(client, tenant, "rag_config.delete"))["object_id"] == "tight"

    alert = await client.post(
        "/v1/alerts",
        json={
            "name": "syncs",
            "kind": "sync_failed",
            "webhook": {"url": HOOK_URL, "secret": WEBHOOK_SECRET},
        },
        headers=h,
    )
    assert alert.status_code == 201, alert.text
    alert_id = alert.json()["id"]
    await client.patch(f"/v1/alerts/{alert_id}", json={"active": False}, headers=h)
    await client.delete(f"/v1/alerts/{alert_id}", headers=h)
    assert (await _one(client, tenant, "alert.create"))["object_id"] == alert_id
    assert (await _one(client, tenant, "alert.update"))["details"]["active"] is False
    assert (await _one(client, tenant, "alert.delete"))["object_id"] == alert_id

    # Document deletion and analytics CSV export (JSON reads are not audited).
    doc = await client.post(
        "/v1/documents", json={"title": "Leave", "text": "Leave is 25 days."}, headers=h
    )
    await wait_for_document(client, tenant.headers, doc.json()["id"])
    assert (await client.delete(f"/v1/documents/{doc.json()['id']}", headers=h)).status_code == 204
    deleted_doc = await _one(client, tenant, "document.delete")
    assert (deleted_doc["object_type"], deleted_doc["details"]["title"]) == ("document", "Leave")
    assert (await client.get("/v1/analytics/volume", headers=h)).status_code == 200
    assert await _events(client, tenant, action="analytics.export") == []
    exported = await client.get("/v1/analytics/usage", params={"format": "csv"}, headers=h)
    assert exported.status_code == 200
    export = await _one(client, tenant, "analytics.export")
    assert (export["object_type"], export["object_id"]) == ("report", "usage")
    # A failed export (bad window) records nothing.
    refused = await client.get(
        "/v1/analytics/usage",
        params={"format": "csv", "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        headers=h,
    )
    assert refused.status_code == 422
    await _one(client, tenant, "analytics.export")

    # No secret anywhere in the organisation's log.
    everything = json.dumps(await _events(client, tenant))
    for secret in (
        PASSWORD,
        tenant.password,
        "wrong-guess-123",
        "another long pw",
        plaintext,
        tenant.api_key,
        WEBHOOK_SECRET,
        "AUDITTOKEN",
    ):
        assert secret not in everything

    # ragaas admin rotate-key: a system event in every organisation.
    env = {
        "RAGAAS_DATABASE_URL": settings.database_url or "",
        "RAGAAS_DATA_DIR": str(settings.data_dir),
    }
    result = await asyncio.to_thread(CliRunner().invoke, app, ["admin", "rotate-key"], env=env)
    assert result.exit_code == 0, result.output
    rotated = await _one(client, tenant, "secrets.rotate")
    assert rotated["actor_kind"] == ActorKind.SYSTEM
    assert rotated["actor_user_id"] is None
    assert set(rotated["details"]) == {"key_id", "resealed"}


async def test_a_rolled_back_change_leaves_no_audit_row(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    # Through the API: a refused rule (bad CEL) writes no audit row.
    bad = await client.post(
        "/v1/rules",
        json={"name": "broken", "type": "filter", "condition": "((", "action": {"type": "block"}},
        headers=tenant.headers,
    )
    assert bad.status_code == 422
    assert await _events(client, tenant, action="rule.") == []
    # Directly: the row goes with the transaction it was written in.
    marker = uuid.uuid4().hex
    async with runtime.sessionmaker() as session:
        record(session, Actor.system(tenant.organization_id), "test.rollback", "x", marker)
        await session.flush()
        await session.rollback()
    async with runtime.sessionmaker() as session:
        record(session, Actor.system(tenant.organization_id), "test.commit", "x", marker)
        await session.commit()
    assert [e["action"] for e in await _events(client, tenant, object_id=marker)] == ["test.commit"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'tampered' WHERE organization_id = :org",
        "DELETE FROM audit_events WHERE organization_id = :org",
        "TRUNCATE audit_events",
    ],
)
async def test_the_database_refuses_to_change_history(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, statement: str
) -> None:
    async with runtime.sessionmaker() as session:
        record(session, Actor.system(tenant.organization_id), "test.kept", "x", "1")
        await session.commit()
    async with runtime.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(sa.text(statement), {"org": tenant.organization_id})
        await session.rollback()
    assert [e["action"] for e in await _events(client, tenant)] == ["test.kept"]


async def test_retention_purges_only_old_rows_and_never_younger_than_90_days(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    async with runtime.sessionmaker() as session:
        old = record(session, Actor.system(tenant.organization_id), "test.old", "x", "1")
        record(session, Actor.system(tenant.organization_id), "test.new", "x", "2")
        old.occurred_at = datetime.now(UTC) - timedelta(days=730)
        await session.commit()
    async with runtime.sessionmaker() as session:
        # Even an old row cannot be deleted directly ...
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(
                sa.text("DELETE FROM audit_events WHERE id = :id"), {"id": old.id}
            )
        await session.rollback()
        # ... nor can the purge shorten retention below 90 days.
        with pytest.raises(DBAPIError, match="at least 90 days"):
            await session.execute(sa.text("SELECT audit_events_purge(interval '1 day')"))
        await session.rollback()
        removed = await session.scalar(sa.text("SELECT audit_events_purge(interval '365 days')"))
        await session.commit()
    assert removed is not None
    assert removed >= 1
    assert [e["action"] for e in await _events(client, tenant)] == ["test.new"]


async def test_filters_pagination_and_csv(client: httpx.AsyncClient, tenant: Tenant) -> None:
    h = tenant.headers
    key_id = await _key_id(client, tenant)
    for name in ("a", "b", "c"):
        assert (
            await client.post("/v1/rag-configs", json={"name": name}, headers=h)
        ).status_code == 201
    await client.delete("/v1/rag-configs/b", headers=h)
    login = await client.post(
        "/v1/auth/login", json={"email": tenant.email, "password": tenant.password}
    )
    assert login.status_code == 200

    assert [e["object_id"] for e in await _events(client, tenant, action="rag_config.create")] == [
        "c",
        "b",
        "a",
    ]
    assert [e["action"] for e in await _events(client, tenant, action="rag_config")] == [
        "rag_config.delete",
        "rag_config.create",
        "rag_config.create",
        "rag_config.create",
    ]
    by_object = await _events(client, tenant, object_type="rag_config", object_id="b")
    assert [e["action"] for e in by_object] == ["rag_config.delete", "rag_config.create"]
    assert len(await _events(client, tenant, actor=key_id)) == 4
    assert [e["action"] for e in await _events(client, tenant, actor=str(tenant.user_id))] == [
        "auth.login",
        "rag_config.delete",
        "rag_config.create",
        "rag_config.create",
        "rag_config.create",
    ]
    # '_' and '%' in the prefix are literal.
    assert await _events(client, tenant, action="rag%") == []

    everything = await _events(client, tenant)
    middle = everything[2]["occurred_at"]
    newer = await _events(client, tenant, **{"from": middle})
    older = await _events(client, tenant, to=middle)
    assert len(newer) + len(older) == len(everything) == 5
    page = await client.get("/v1/audit", params={"limit": 2, "offset": 1}, headers=h)
    assert page.json()["total"] == 5
    assert [e["id"] for e in page.json()["items"]] == [e["id"] for e in everything[1:3]]
    backwards = await client.get("/v1/audit", params={"from": middle, "to": middle}, headers=h)
    assert backwards.status_code == 422

    exported = await client.get(
        "/v1/audit", params={"format": "csv", "action": "rag_config.create"}, headers=h
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["object_id"] for r in rows] == ["c", "b", "a"]
    assert json.loads(rows[0]["details"])["version"] == 1
    assert rows[0]["actor_api_key_id"] == key_id
    # The export itself is audited, with its filters.
    export = await _one(client, tenant, "audit.export")
    assert export["details"] == {"filters": {"action": "rag_config.create"}, "rows": 3}


async def test_only_admins_of_the_organisation_see_its_log(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    other = await make_tenant()
    await client.post("/v1/rag-configs", json={"name": "theirs"}, headers=other.headers)
    # A failed login naming the other organisation's user goes to that organisation only.
    await client.post("/v1/auth/login", json={"email": other.email, "password": "nope-nope-1"})
    # An unknown e-mail belongs to no organisation.
    await client.post("/v1/auth/login", json={"email": "ghost@nowhere.test", "password": "x" * 9})
    await client.post("/v1/rag-configs", json={"name": "ours"}, headers=tenant.headers)

    mine = await _events(client, tenant)
    assert [(e["action"], e["object_id"]) for e in mine] == [("rag_config.create", "ours")]
    theirs = await _events(client, other)
    assert {e["action"] for e in theirs} == {"rag_config.create", "auth.login_failed"}
    for params in ({"object_id": "theirs"}, {"actor": str(other.user_id)}, {"format": "csv"}):
        response = await client.get("/v1/audit", params=params, headers=tenant.headers)
        assert "theirs" not in response.text
        assert str(other.user_id) not in response.text

    for role in ("developer", "analyst", "viewer"):
        email = f"{role}@{uuid.uuid4().hex[:6]}.test"
        created = await client.post(
            "/v1/users",
            json={"email": email, "password": "long enough pw", "role": role},
            headers=tenant.headers,
        )
        assert created.status_code == 201
        token = await client.post(
            "/v1/auth/login", json={"email": email, "password": "long enough pw"}
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        denied = await client.get("/v1/audit", headers=headers)
        assert denied.status_code == 403
        assert denied.json()["detail"] == "this action needs the 'org:admin' permission"
        assert (
            await client.get("/v1/audit", params={"format": "csv"}, headers=headers)
        ).status_code == 403
    assert (await client.get("/v1/audit")).status_code == 401
