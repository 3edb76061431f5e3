"""Rate limits per API key and per user, counted in Redis: 429 problem+json with Retry-After.

Without Redis the same limits are counted in-process: tests/security/test_limits.py."""

from __future__ import annotations

import httpx

from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import TenantFactory
from tests.operations.conftest import ops_app
from tests.operations.redis_server import RedisServer

LIMIT = 3


async def test_callers_over_the_limit_get_429_with_retry_after(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    make_tenant: TenantFactory,
    redis_server: RedisServer,
) -> None:
    alice, bob = await make_tenant(), await make_tenant()
    updates = {"redis_url": redis_server.url, "rate_limit_per_minute": LIMIT}
    async with ops_app(settings, runtime, **updates) as (c, _):
        for n in range(LIMIT):
            ok = await c.get("/v1/documents", headers=alice.headers)
            assert ok.status_code == 200, ok.text
            assert ok.headers["x-ratelimit-remaining"] == str(LIMIT - n - 1)
        refused = await c.get("/v1/documents", headers=alice.headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        problem = refused.json()
        assert problem["status"] == 429
        assert "3 requests per minute" in problem["detail"]
        # Every endpoint counts against the same key, the OpenAI-style ones answer in their shape.
        openai = await c.post(
            "/v1/chat/completions", json={"model": "x", "messages": []}, headers=alice.headers
        )
        assert openai.status_code == 429
        assert openai.json()["error"]["code"] == 429

        # Another key is counted on its own; probes and /metrics are never limited.
        assert (await c.get("/v1/documents", headers=bob.headers)).status_code == 200
        for _ in range(LIMIT + 1):
            assert (await c.get("/health")).status_code == 200

        # A user signed in with a JWT is limited as a user, whichever token they present.
        login = {"email": bob.email, "password": bob.password}
        codes = []
        for _ in range(LIMIT + 1):
            tokens = (await c.post("/v1/auth/login", json=login)).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            codes.append((await c.get("/v1/documents", headers=headers)).status_code)
        assert codes == [200] * LIMIT + [429], codes


async def test_no_limit_with_limit_zero(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    make_tenant: TenantFactory,
    redis_server: RedisServer,
) -> None:
    tenant = await make_tenant()
    async with ops_app(settings, runtime, redis_url=redis_server.url) as (c, _):
        for _ in range(4):
            answer = await c.get("/v1/documents", headers=tenant.headers)
            assert answer.status_code == 200
            assert "x-ratelimit-limit" not in answer.headers
