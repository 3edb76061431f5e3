"""/v1/sso/providers: the ladder (401/403/404/2xx), the secret sealed at rest and masked,
validation, and the audit trail."""

from __future__ import annotations

import base64
import uuid

import httpx
from sqlalchemy import select

from ragaas.client import AsyncRagaas
from ragaas.models import AuditEvent, SsoProvider
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from ragaas.sources.crypto import Keyring, is_sealed, keyring_from, new_key_spec
from ragaas.sso import service as sso_service
from tests.conftest import Tenant, TenantFactory

BODY = {
    "slug": "acme",
    "name": "Acme Keycloak",
    "issuer": "https://sso.acme.example/realms/acme/",
    "client_id": "ragaas",
    "client_secret": "s3cret-value",
    "group_roles": {"RAGAAS-Admins": "admin", "staff": "viewer"},
    "allowed_domains": ["@Acme.example"],
}


def _body(**changes: object) -> dict[str, object]:
    return BODY | {"slug": f"acme-{uuid.uuid4().hex[:8]}"} | changes


async def _viewer(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    email = f"viewer-{uuid.uuid4().hex[:6]}@x.test"
    body = {"email": email, "password": "viewer password", "role": "viewer"}
    assert (await client.post("/v1/users", json=body, headers=tenant.headers)).status_code == 201
    login = await client.post("/v1/auth/login", json={"email": email, "password": body["password"]})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_ladder_and_masked_sealed_secret(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: TenantFactory,
    runtime: Runtime,
    settings: Settings,
) -> None:
    body = _body()
    assert (await client.post("/v1/sso/providers", json=body)).status_code == 401
    viewer = await _viewer(client, tenant)
    assert (await client.post("/v1/sso/providers", json=body, headers=viewer)).status_code == 403
    assert (await client.get("/v1/sso/providers", headers=viewer)).status_code == 403

    created = await client.post("/v1/sso/providers", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["client_secret"] == "********"
    assert out["issuer"] == "https://sso.acme.example/realms/acme"
    assert out["group_roles"] == {"ragaas-admins": "admin", "staff": "viewer"}
    assert out["allowed_domains"] == ["acme.example"]
    assert out["scopes"] == ["openid", "email", "profile"]
    assert (out["groups_claim"], out["default_role"], out["enabled"]) == ("groups", None, True)
    assert out["login_url"] == f"/v1/auth/oidc/{body['slug']}/login"
    assert out["redirect_uri"] == "http://ragaas.test/v1/auth/oidc/callback"
    assert "s3cret" not in created.text

    async with runtime.sessionmaker() as session:
        row = await session.get(SsoProvider, uuid.UUID(out["id"]))
        assert row is not None
        assert row.client_secret is not None
        assert is_sealed(row.client_secret)
        keyring = keyring_from(settings)
        assert keyring.open(row.client_secret, tenant.organization_id) == "s3cret-value"

    path = f"/v1/sso/providers/{out['id']}"
    other = await make_tenant()
    for method in ("GET", "PATCH", "DELETE"):
        json = {"enabled": False} if method == "PATCH" else None
        stranger = await client.request(method, path, json=json, headers=other.headers)
        assert stranger.status_code == 404, (method, stranger.text)
    assert (await client.get("/v1/sso/providers", headers=other.headers)).json() == []

    # The masked secret sent back keeps the stored one; a new value replaces it.
    kept = await client.patch(
        path, json={"client_secret": "********", "enabled": False}, headers=tenant.headers
    )
    assert kept.status_code == 200
    assert kept.json()["enabled"] is False
    async with runtime.sessionmaker() as session:
        row = await session.get(SsoProvider, uuid.UUID(out["id"]))
        assert row is not None
        assert row.client_secret is not None
        assert keyring.open(row.client_secret, tenant.organization_id) == "s3cret-value"
    listed = await client.get("/v1/sso/providers", headers=tenant.headers)
    assert [p["id"] for p in listed.json()] == [out["id"]]
    assert (await client.get(path, headers=tenant.headers)).json()["enabled"] is False

    assert (await client.delete(path, headers=tenant.headers)).status_code == 204
    assert (await client.get(path, headers=tenant.headers)).status_code == 404

    async with runtime.sessionmaker() as session:
        events = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.organization_id == tenant.organization_id)
                .where(AuditEvent.action.like("sso_provider.%"))
                .order_by(AuditEvent.occurred_at)
            )
        )
    assert [e.action for e in events] == [
        "sso_provider.create",
        "sso_provider.update",
        "sso_provider.delete",
    ]
    assert events[1].details["changed"] == ["client_secret", "enabled"]
    assert all("s3cret" not in str(e.details) for e in events)


async def test_validation(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await client.post("/v1/sso/providers", json=_body(), headers=tenant.headers)
    assert first.status_code == 201
    taken = await client.post(
        "/v1/sso/providers", json=_body(slug=first.json()["slug"]), headers=tenant.headers
    )
    assert taken.status_code == 409
    bad = {
        "issuer": "ftp://sso.example",
        "group_roles": {"x": "owner"},
        "default_role": "root",
        "slug": "Not A Slug",
        "allowed_domains": ["not a domain"],
    }
    for field, value in bad.items():
        response = await client.post(
            "/v1/sso/providers", json=_body(**{field: value}), headers=tenant.headers
        )
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    # Plain http and private addresses only for hosts the operator allow-listed (egress).
    for issuer in ("http://sso.acme.example", "https://10.1.2.3/realms/x"):
        refused = await client.post(
            "/v1/sso/providers", json=_body(issuer=issuer), headers=tenant.headers
        )
        assert refused.status_code == 422, refused.text
    allowed = await client.post(
        "/v1/sso/providers", json=_body(issuer="http://127.0.0.1:8080"), headers=tenant.headers
    )
    assert allowed.status_code == 201, allowed.text
    path = f"/v1/sso/providers/{first.json()['id']}"
    nulled = await client.patch(path, json={"client_id": None}, headers=tenant.headers)
    assert nulled.status_code == 422
    scopes = await client.patch(path, json={"scopes": ["email", "groups"]}, headers=tenant.headers)
    assert scopes.json()["scopes"] == ["openid", "email", "groups"]
    denied = await client.patch(path, json={"default_role": None}, headers=tenant.headers)
    assert denied.json()["default_role"] is None


async def test_the_python_sdk_manages_providers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    http = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with AsyncRagaas(str(client.base_url), tenant.api_key, http_client=http) as sdk:
        slug = f"sdk-{uuid.uuid4().hex[:8]}"
        created = await sdk.sso_providers.create(
            slug,
            "Entra",
            "https://login.microsoftonline.example/tenant/v2.0",
            "app-id",
            client_secret="shh",
            group_roles={"0b5e-admins": "admin"},
            default_role="viewer",
        )
        assert (created.slug, created.client_secret, created.default_role) == (
            slug,
            "********",
            "viewer",
        )
        changed = await sdk.sso_providers.update(str(created.id), default_role=None)
        assert changed.default_role is None
        assert [p.id for p in await sdk.sso_providers.list()] == [created.id]
        assert (await sdk.sso_providers.get(str(created.id))).group_roles == {
            "0b5e-admins": "admin"
        }
        await sdk.sso_providers.delete(str(created.id))
        assert await sdk.sso_providers.list() == []
    await http.aclose()


async def test_rotate_key_reseals_client_secrets(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, settings: Settings
) -> None:
    created = await client.post("/v1/sso/providers", json=_body(), headers=tenant.headers)
    assert created.status_code == 201
    current = keyring_from(settings)
    rotated = Keyring.parse(f"{new_key_spec('sso-new')},{current.current}:" + _b64(current))
    async with runtime.sessionmaker() as session:
        assert await sso_service.reseal_all(session, rotated) >= 1
        row = await session.get(SsoProvider, uuid.UUID(created.json()["id"]))
        assert row is not None
        assert row.client_secret is not None
        assert rotated.key_id_of(row.client_secret) == "sso-new"
        only_new = Keyring({"sso-new": rotated.keys["sso-new"]}, "sso-new")
        assert only_new.open(row.client_secret, tenant.organization_id) == "s3cret-value"
        await session.rollback()  # the session's other providers stay under the test keyring


def _b64(keyring: Keyring) -> str:
    return base64.urlsafe_b64encode(keyring.keys[keyring.current]).decode().rstrip("=")
