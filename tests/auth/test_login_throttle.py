"""Brute-force protection: failed logins per account and per client address back off
exponentially (429 + Retry-After, the password unchecked), a success resets the account, and
every refusal is in the audit log; counted in the database, or in Redis when configured."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import select

from ragaas.models import AuditEvent, LoginFailure
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory
from tests.operations.conftest import ops_app
from tests.operations.redis_server import running_redis

POLICY = {
    "login_max_failures_per_account": 2,
    "login_max_failures_per_address": 4,
    "login_backoff_base_seconds": 1.0,
}
ACCOUNT_ONLY = {**POLICY, "login_max_failures_per_address": 1000}


def _address() -> str:
    """A client address of its own (address counts outlive a test in the database)."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


async def _login(c: httpx.AsyncClient, tenant: Tenant, password: str) -> httpx.Response:
    return await c.post("/v1/auth/login", json={"email": tenant.email, "password": password})


@contextlib.asynccontextmanager
async def _from(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://ops.test") as c:
        yield c


async def _account_backs_off_and_success_resets(c: httpx.AsyncClient, tenant: Tenant) -> None:
    assert [(await _login(c, tenant, "wrong")).status_code for _ in range(2)] == [401, 401]
    # Blocked for 1 s: even the right password is refused, unchecked.
    blocked = await _login(c, tenant, tenant.password)
    assert blocked.status_code == 429
    assert blocked.headers["content-type"] == "application/problem+json"
    assert blocked.headers["retry-after"] == "1"
    assert "too many failed logins" in blocked.json()["detail"]
    await asyncio.sleep(1.1)
    assert (await _login(c, tenant, "wrong again")).status_code == 401  # 3rd failure: 2 s
    blocked = await _login(c, tenant, tenant.password)
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "2"
    await asyncio.sleep(2.1)
    assert (await _login(c, tenant, tenant.password)).status_code == 200
    # The success forgot the account's failures: one more mistake is not blocked.
    assert (await _login(c, tenant, "wrong")).status_code == 401
    assert (await _login(c, tenant, tenant.password)).status_code == 200


async def test_failed_logins_back_off_per_account_in_the_database(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    async with ops_app(settings, runtime, **ACCOUNT_ONLY) as (_, app), _from(app, _address()) as c:
        await _account_backs_off_and_success_resets(c, tenant)
    async with runtime.sessionmaker() as session:
        events = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.organization_id == tenant.organization_id)
                .where(AuditEvent.action.like("auth.login%"))
                .order_by(AuditEvent.occurred_at)
            )
        )
        rows = await session.scalars(
            select(LoginFailure.key).where(LoginFailure.key.like(f"%{tenant.email}"))
        )
        assert list(rows) == []  # the success removed the account's row
    assert events.count("auth.login_throttled") == 2
    assert events.count("auth.login_failed") == 4
    assert events[-1] == "auth.login"


async def test_one_address_guessing_many_accounts_is_blocked_but_others_are_not(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    make_tenant: TenantFactory,
) -> None:
    victims = [await make_tenant() for _ in range(4)]
    async with (
        ops_app(settings, runtime, **POLICY) as (_, app),
        _from(app, _address()) as attacker,
        _from(app, _address()) as office,
    ):
        for victim in victims:  # one failure per account: no account reaches its limit
            assert (await _login(attacker, victim, "guess")).status_code == 401
        refused = await _login(attacker, victims[0], victims[0].password)
        assert refused.status_code == 429
        # The same accounts still work from elsewhere: the address is blocked, not them.
        assert (await _login(office, victims[1], victims[1].password)).status_code == 200
        # A success does not clear the address's record.
        await asyncio.sleep(1.1)
        assert (await _login(attacker, victims[2], victims[2].password)).status_code == 200
        assert (await _login(attacker, victims[3], "guess")).status_code == 401
        assert (await _login(attacker, victims[3], victims[3].password)).status_code == 429


async def test_with_redis_the_counts_live_in_redis(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    with running_redis() as redis_server:
        updates = {"redis_url": redis_server.url, **ACCOUNT_ONLY}
        async with ops_app(settings, runtime, **updates) as (c, _):
            assert [(await _login(c, tenant, "wrong")).status_code for _ in range(2)] == [401, 401]
            with redis_server.client() as r:
                assert r.get(f"ragaas:login:fail:account:{tenant.email}") == b"2"
                assert 0 < r.pttl(f"ragaas:login:block:account:{tenant.email}") <= 1000
            assert (await _login(c, tenant, tenant.password)).status_code == 429
            async with runtime.sessionmaker() as session:
                stored = await session.get(LoginFailure, f"account:{tenant.email}")
                assert stored is None  # nothing went to the database
            await asyncio.sleep(1.1)
            assert (await _login(c, tenant, tenant.password)).status_code == 200
            with redis_server.client() as r:
                assert r.get(f"ragaas:login:fail:account:{tenant.email}") is None


async def test_wrong_current_passwords_on_password_change_count_as_failed_logins(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    async with ops_app(settings, runtime, **ACCOUNT_ONLY) as (_, app), _from(app, _address()) as c:
        tokens = (await _login(c, tenant, tenant.password)).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        guess = {"current_password": "a guess at it", "new_password": "a brand new passphrase"}
        codes = [
            (await c.post("/v1/auth/password", json=guess, headers=headers)).status_code
            for _ in range(3)
        ]
        assert codes == [403, 403, 429]
        # The account is blocked for password login too.
        assert (await _login(c, tenant, tenant.password)).status_code == 429
