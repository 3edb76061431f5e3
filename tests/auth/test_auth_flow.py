"""Login, refresh, API keys: creation, scopes, expiry, revocation, last_used_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from ragaas.auth.tokens import issue_token
from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory


async def _login(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    response = await client.post(
        "/v1/auth/login", json={"email": tenant.email, "password": tenant.password}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_login_returns_tokens_that_authenticate(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    tokens = await _login(client, tenant)
    me = await client.get(
        "/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["role"] == "admin"
    assert me.json()["organization_id"] == str(tenant.organization_id)


async def test_wrong_password_is_401_problem(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/auth/login", json={"email": tenant.email, "password": "wrong password"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "wrong e-mail or password"


async def test_refresh_gives_new_pair_and_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    tokens = await _login(client, tenant)
    refreshed = await client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    as_access = await client.get(
        "/v1/auth/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert as_access.status_code == 401


async def test_expired_token_is_rejected(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    token = issue_token(
        settings.resolved_jwt_secret(),
        tenant.user_id,
        tenant.organization_id,
        "access",
        timedelta(seconds=-1),
    )
    response = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_api_key_scopes_limit_access_and_key_is_shown_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/v1/api-keys", json={"name": "reader", "scopes": ["data:read"]}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    reader = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/documents", headers=reader)).status_code == 200
    denied = await client.post("/v1/search", json={"query": "x"}, headers=reader)
    assert denied.status_code == 403
    assert "query" in denied.json()["detail"]
    listed = (await client.get("/v1/api-keys", headers=tenant.headers)).json()
    assert all("key" not in k for k in listed)
    mine = next(k for k in listed if k["id"] == created.json()["id"])
    assert mine["last_used_at"] is not None


async def test_revoked_and_expired_keys_stop_working(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/v1/api-keys", json={"name": "temp", "scopes": ["data:read"]}, headers=tenant.headers
    )
    key_id, key = created.json()["id"], created.json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/documents", headers=headers)).status_code == 200
    revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=tenant.headers)
    assert revoked.status_code == 200
    assert (await client.get("/v1/documents", headers=headers)).status_code == 401

    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = await client.post(
        "/v1/api-keys",
        json={"name": "old", "scopes": ["data:read"], "expires_at": past},
        headers=tenant.headers,
    )
    assert refused.status_code == 422


async def test_viewer_cannot_grant_scopes_beyond_role(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/v1/users",
        json={"email": "viewer@example.test", "password": "viewer password", "role": "viewer"},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    login = await client.post(
        "/v1/auth/login", json={"email": "viewer@example.test", "password": "viewer password"}
    )
    viewer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    escalate = await client.post(
        "/v1/api-keys", json={"name": "x", "scopes": ["data:write"]}, headers=viewer
    )
    assert escalate.status_code == 403
    assert (await client.get("/v1/users", headers=viewer)).status_code == 403


async def test_same_email_in_two_orgs_needs_organization_id(
    client: httpx.AsyncClient, make_tenant: TenantFactory
) -> None:
    first = await make_tenant()
    second = await make_tenant()
    body = {"email": "shared@example.test", "password": "shared password", "role": "analyst"}
    for tenant in (first, second):
        assert (
            await client.post("/v1/users", json=body, headers=tenant.headers)
        ).status_code == 201
    ambiguous = await client.post(
        "/v1/auth/login", json={"email": body["email"], "password": body["password"]}
    )
    assert ambiguous.status_code == 400
    chosen = await client.post(
        "/v1/auth/login",
        json={
            "email": body["email"],
            "password": body["password"],
            "organization_id": str(second.organization_id),
        },
    )
    assert chosen.status_code == 200
