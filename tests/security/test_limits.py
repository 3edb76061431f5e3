"""Abuse limits: rate limits without Redis and per organisation (GCRA), body size and query
length limits, and API key revocation that takes effect at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from ragaas.cache.gcra import MemoryLimiter, decide
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory
from tests.operations.conftest import ops_app
from tests.operations.redis_server import running_redis


def test_gcra_allows_a_burst_then_one_request_per_interval() -> None:
    limiter = MemoryLimiter()
    # 3 per minute: a burst of 3 at t=0, then one every 20 s, never two at a window edge.
    assert [limiter.hit("k", 3, now=0.0).allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.hit("k", 3, now=5.0)
    assert not refused.allowed
    assert refused.retry_after == 15
    assert limiter.hit("k", 3, now=20.0).allowed
    assert not limiter.hit("k", 3, now=20.5).allowed
    assert limiter.hit("other", 3, now=20.5).allowed  # each key counts on its own
    # A quiet minute restores the whole burst.
    assert [limiter.hit("k", 3, now=100.0).remaining for _ in range(3)] == [2, 1, 0]
    assert decide(tat=0.0, now=0.0, limit=60).remaining == 59


async def test_without_redis_the_limit_is_counted_in_process(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    async with ops_app(settings, runtime, rate_limit_per_minute=3) as (c, _):
        codes = [(await c.get("/v1/documents", headers=tenant.headers)) for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert [r.headers.get("x-ratelimit-remaining") for r in codes[:3]] == ["2", "1", "0"]
    refused = codes[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert "3 requests per minute per caller" in refused.json()["detail"]


async def _org_limit_applies(c: httpx.AsyncClient, one: Tenant, other: Tenant) -> None:
    created = await c.post(
        "/v1/api-keys", json={"name": "second", "scopes": ["data:read"]}, headers=one.headers
    )
    assert created.status_code == 201, created.text  # 1st request of the organisation
    second = {"Authorization": f"Bearer {created.json()['key']}"}
    login = await c.post("/v1/auth/login", json={"email": one.email, "password": one.password})
    as_user = {"Authorization": f"Bearer {login.json()['access_token']}"}  # not counted
    codes = [
        (await c.get("/v1/documents", headers=h)).status_code
        for h in (second, as_user, one.headers, second)
    ]
    # Keys and users of one organisation share its 4 requests a minute...
    assert codes == [200, 200, 200, 429], codes
    refused = await c.get("/v1/documents", headers=as_user)
    assert refused.status_code == 429
    assert "4 requests per minute per organisation" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    # ...and another organisation is not affected.
    assert (await c.get("/v1/documents", headers=other.headers)).status_code == 200


async def test_organisation_limit_counts_all_its_keys_and_users(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    make_tenant: TenantFactory,
) -> None:
    async with ops_app(settings, runtime, org_rate_limit_per_minute=4) as (c, _):
        await _org_limit_applies(c, await make_tenant(), await make_tenant())
    with running_redis() as redis_server:
        updates = {"redis_url": redis_server.url, "org_rate_limit_per_minute": 4}
        async with ops_app(settings, runtime, **updates) as (c, _):
            await _org_limit_applies(c, await make_tenant(), await make_tenant())
            with redis_server.client() as r:
                assert any(k.startswith(b"ragaas:rate:org:") for k in r.keys("ragaas:rate:*"))


async def _chunked(payload: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(payload), 4096):
        yield payload[start : start + 4096]


async def test_request_bodies_over_the_limit_are_413(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    big_query = {"query": "x", "filters": {"labels": ["a" * 5000] * 4}}
    async with ops_app(settings, runtime, max_request_body_bytes=16 * 1024) as (c, _):
        declared = await c.post("/v1/search", json=big_query, headers=tenant.headers)
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"
        assert "limit is 16384 bytes" in declared.json()["detail"]
        body = b'{"query": "' + b"y" * 20_000 + b'"}'
        headers = {**tenant.headers, "content-type": "application/json"}
        streamed = await c.post("/v1/search", content=_chunked(body), headers=headers)
        assert streamed.status_code == 413, streamed.text
        assert "larger than the limit of 16384 bytes" in streamed.json()["detail"]
        # A document upload may be as large as max_upload_bytes.
        text = "A document about limits. " * 2000  # ~50 kB
        upload = await c.post(
            "/v1/documents", json={"title": "t", "text": text}, headers=tenant.headers
        )
        assert upload.status_code == 202, upload.text


async def test_query_length_is_limited_with_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    search = await client.post("/v1/search", json={"query": "q" * 4001}, headers=tenant.headers)
    assert search.status_code == 422
    assert search.json()["detail"].startswith("body.query:")
    chat = await client.post("/v1/chat", json={"query": "q" * 4001}, headers=tenant.headers)
    assert chat.status_code == 422
    assert chat.json()["detail"].startswith("body.query:")
    messages = [{"role": "system", "content": "s" * 5000}, {"role": "user", "content": "u" * 4001}]
    openai = await client.post(
        "/v1/chat/completions", json={"messages": messages}, headers=tenant.headers
    )
    assert openai.status_code == 422
    assert openai.json()["detail"].startswith("body.messages.1.content:")
    assert "at most 4000 characters" in openai.json()["error"]["message"]


async def test_revoked_key_is_refused_at_once_even_with_limits_remembering_it(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    # The organisation limit remembers which organisation a key belongs to: that memory must
    # never let a revoked key (or a disabled user's key) through.
    async with ops_app(settings, runtime, org_rate_limit_per_minute=1000) as (c, _):
        created = await c.post(
            "/v1/api-keys",
            json={"name": "soon revoked", "scopes": ["data:read"]},
            headers=tenant.headers,
        )
        key_id, headers = created.json()["id"], {"Authorization": f"Bearer {created.json()['key']}"}
        assert (await c.get("/v1/documents", headers=headers)).status_code == 200
        assert (await c.delete(f"/v1/api-keys/{key_id}", headers=tenant.headers)).status_code == 200
        refused = await c.get("/v1/documents", headers=headers)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]
