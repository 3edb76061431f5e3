"""Sessions: JWT signing-key rotation (kid), refresh-token rotation with reuse detection,
logout, password change and user disabling revoking tokens, and the password policy."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from pydantic import SecretStr
from sqlalchemy import select

from ragaas.auth.tokens import JwtKeys, issue_token
from ragaas.models import AuditEvent
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant
from tests.operations.conftest import ops_app


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _login(c: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await c.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _refresh(c: httpx.AsyncClient, token: str) -> httpx.Response:
    return await c.post("/v1/auth/refresh", json={"refresh_token": token})


async def test_jwt_keys_rotate_old_tokens_verify_until_the_key_is_dropped(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    before = ops_app(settings, runtime, jwt_keys=SecretStr(f"k1:{old}"))
    async with before as (c, _):
        issued_before = await _login(c, tenant.email, tenant.password)
    header = jwt.get_unverified_header(issued_before["access_token"])
    assert header["kid"] == "k1"

    async with ops_app(settings, runtime, jwt_keys=SecretStr(f"k2:{new},k1:{old}")) as (c, _):
        # Tokens of the old key still verify; new ones are signed by the newest key.
        me = await c.get("/v1/auth/me", headers=_bearer(issued_before["access_token"]))
        assert me.status_code == 200, me.text
        rotated = await _refresh(c, issued_before["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        assert jwt.get_unverified_header(rotated.json()["access_token"])["kid"] == "k2"
        # A token from before key ids (no kid header) is checked against every key.
        now = datetime.now(UTC)
        claims = {"iss": "ragaas", "sub": str(tenant.user_id), "org": str(tenant.organization_id),
                  "typ": "access", "iat": now, "exp": now + timedelta(minutes=5)}  # fmt: skip
        legacy = jwt.encode(claims, old, algorithm="HS256")
        assert (await c.get("/v1/auth/me", headers=_bearer(legacy))).status_code == 200

    async with ops_app(settings, runtime, jwt_keys=SecretStr(f"k2:{new}")) as (c, _):
        refused = await c.get("/v1/auth/me", headers=_bearer(issued_before["access_token"]))
        assert refused.status_code == 401
        assert refused.json()["detail"] == "the token is invalid"
        fresh = rotated.json()["access_token"]
        assert (await c.get("/v1/auth/me", headers=_bearer(fresh))).status_code == 200


def test_jwt_keys_are_validated() -> None:
    for bad in ("nokid", "k1:short", f"k1:{'a' * 32},k1:{'b' * 32}"):
        try:
            JwtKeys.parse(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
    keys = JwtKeys.parse(f"new:{'n' * 32}, old:{'o' * 32}")
    assert keys.current == ("new", "n" * 32)
    assert keys.verifying("old") == ["o" * 32]
    assert keys.verifying("gone") == []


async def test_refresh_rotates_and_reuse_revokes_the_whole_sign_in(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    first = await _login(client, tenant.email, tenant.password)
    other_device = await _login(client, tenant.email, tenant.password)
    second = await _refresh(client, first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    # The old token again: someone else holds the chain, so the whole sign-in ends.
    replay = await _refresh(client, first["refresh_token"])
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    revoked = await _refresh(client, second.json()["refresh_token"])
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]
    # Another sign-in of the same user is not affected.
    assert (await _refresh(client, other_device["refresh_token"])).status_code == 200
    async with runtime.sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.actor_user_id == tenant.user_id,
                    AuditEvent.action == "auth.refresh_reused",
                )
            )
        )
    assert actions == ["auth.refresh_reused"]


async def test_a_refresh_token_unknown_to_the_server_is_refused(
    client: httpx.AsyncClient, settings: Settings, tenant: Tenant
) -> None:
    forged = issue_token(
        settings.resolved_jwt_keys(), tenant.user_id, tenant.organization_id, "refresh",
        timedelta(days=1),
    )  # fmt: skip
    response = await _refresh(client, forged)
    assert response.status_code == 401
    assert "not known" in response.json()["detail"]


async def test_logout_ends_one_session_or_all_of_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    one = await _login(client, tenant.email, tenant.password)
    two = await _login(client, tenant.email, tenant.password)
    out = await client.post("/v1/auth/logout", json={"refresh_token": one["refresh_token"]})
    assert out.status_code == 204
    assert (await _refresh(client, one["refresh_token"])).status_code == 401
    assert (await client.get("/v1/auth/me", headers=_bearer(two["access_token"]))).is_success

    everywhere = {"refresh_token": two["refresh_token"], "everywhere": True}
    assert (await client.post("/v1/auth/logout", json=everywhere)).status_code == 204
    refused = await client.get("/v1/auth/me", headers=_bearer(two["access_token"]))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert (await _refresh(client, two["refresh_token"])).status_code == 401
    # API keys are not sessions: they keep working until revoked themselves.
    assert (await client.get("/v1/auth/me", headers=tenant.headers)).status_code == 200
    again = await _login(client, tenant.email, tenant.password)  # a new sign-in works at once
    assert (await client.get("/v1/auth/me", headers=_bearer(again["access_token"]))).is_success


async def test_password_change_checks_policy_and_ends_other_sessions(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await _login(client, tenant.email, tenant.password)
    mine = await _login(client, tenant.email, tenant.password)
    headers = _bearer(mine["access_token"])
    wrong = {"current_password": "not it at all", "new_password": "a brand new passphrase"}
    assert (await client.post("/v1/auth/password", json=wrong, headers=headers)).status_code == 403
    for weak, rule in (
        ("short pw", "at least 12 characters"),
        (tenant.email, "must not be the e-mail address"),
        ("Password1234", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common or too repetitive"),
    ):
        body = {"current_password": tenant.password, "new_password": weak}
        refused = await client.post("/v1/auth/password", json=body, headers=headers)
        assert refused.status_code == 422, weak
        assert refused.json()["detail"].startswith("password: ")
        assert rule in refused.json()["detail"]

    body = {"current_password": tenant.password, "new_password": "a brand new passphrase"}
    changed = await client.post("/v1/auth/password", json=body, headers=headers)
    assert changed.status_code == 200, changed.text
    assert (
        await client.get("/v1/auth/me", headers=_bearer(changed.json()["access_token"]))
    ).is_success
    for token in (mine["access_token"], other["access_token"]):
        assert (await client.get("/v1/auth/me", headers=_bearer(token))).status_code == 401
    assert (await _refresh(client, other["refresh_token"])).status_code == 401
    old = {"email": tenant.email, "password": tenant.password}
    assert (await client.post("/v1/auth/login", json=old)).status_code == 401
    await _login(client, tenant.email, "a brand new passphrase")


async def test_disabling_a_user_revokes_their_refresh_tokens_for_good(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email, password = f"dev-{secrets.token_hex(3)}@example.test", "developer passphrase"
    created = await client.post(
        "/v1/users",
        json={"email": email, "password": password, "role": "developer"},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    tokens = await _login(client, email, password)
    off = await client.patch(f"/v1/users/{user_id}", json={"active": False}, headers=tenant.headers)
    assert off.status_code == 200
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
    on = await client.patch(f"/v1/users/{user_id}", json={"active": True}, headers=tenant.headers)
    assert on.status_code == 200
    # Re-enabled, the user signs in again: the old session does not come back.
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
    assert (
        await client.get("/v1/auth/me", headers=_bearer(tokens["access_token"]))
    ).status_code == 401
    await _login(client, email, password)


async def test_new_users_get_the_password_policy(client: httpx.AsyncClient, tenant: Tenant) -> None:
    email = f"new-{secrets.token_hex(3)}@example.test"
    for password, rule in (
        ("eleven char", "at least 12 characters"),
        (email.upper(), "must not be the e-mail address"),
        ("qwertyuiop123", "too common"),
    ):
        body = {"email": email, "password": password, "role": "viewer"}
        refused = await client.post("/v1/users", json=body, headers=tenant.headers)
        assert refused.status_code == 422, password
        assert refused.json()["detail"].startswith("password: ")
        assert rule in refused.json()["detail"]
