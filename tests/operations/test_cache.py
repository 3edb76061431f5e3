"""The Redis caches: query vectors and search results per organisation, invalidated when the
organisation's index changes, and a service that keeps answering when Redis goes away."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import httpx
import pytest

from ragaas.retrieval.service import make_searcher
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory, wait_for_document
from tests.operations.conftest import ops_app
from tests.operations.helpers import sample
from tests.operations.redis_server import RedisServer

QUERY = "where do staff park their cars"


async def _ingest(c: httpx.AsyncClient, tenant: Tenant, text: str, external_id: str) -> str:
    body = {"title": "Parking", "text": text, "external_id": external_id}
    created = await c.post("/v1/documents", json=body, headers=tenant.headers)
    assert created.status_code in (200, 201, 202), created.text
    doc = await wait_for_document(c, tenant.headers, created.json()["id"])
    assert doc["status"] == "ready", doc
    return str(doc["id"])


async def _search(c: httpx.AsyncClient, tenant: Tenant, query: str, **extra: Any) -> Any:
    response = await c.post("/v1/search", json={"query": query, **extra}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _hits() -> float:
    return sample("ragaas_search_cache_total", result="hit")


async def test_second_identical_search_is_served_from_the_cache(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    tenant: Tenant,
    make_tenant: TenantFactory,
    redis_server: RedisServer,
) -> None:
    async with ops_app(settings, runtime, redis_url=redis_server.url) as (c, _):
        await _ingest(c, tenant, "Staff park in garage P3, visitors in the north lot.", "parking")
        hits, misses = _hits(), sample("ragaas_search_cache_total", result="miss")
        first = await _search(c, tenant, QUERY)
        second = await _search(c, tenant, QUERY)
        assert "cache_miss_ms" in first["timings_ms"]
        assert "dense_ms" in first["timings_ms"]
        # Served from Redis: no retrieval stage ran.
        assert "cache_hit_ms" in second["timings_ms"], second["timings_ms"]
        assert "dense_ms" not in second["timings_ms"]
        assert second["results"] == first["results"]
        assert first["results"]
        assert "garage P3" in second["results"][0]["content"]
        assert (_hits(), sample("ragaas_search_cache_total", result="miss")) == (
            hits + 1,
            misses + 1,
        )
        # Another top_k or mode is another search.
        assert "cache_miss_ms" in (await _search(c, tenant, QUERY, top_k=3))["timings_ms"]
        assert "cache_miss_ms" in (await _search(c, tenant, QUERY, mode="dense"))["timings_ms"]
        # Another organisation asking the same never sees this one's cached results.
        other = await make_tenant()
        theirs = await _search(c, other, QUERY)
        assert "cache_miss_ms" in theirs["timings_ms"]
        assert theirs["results"] == []
        with redis_server.client() as r:
            assert r.keys(f"ragaas:search:{tenant.organization_id}:*")
            assert r.keys(f"ragaas:search:{other.organization_id}:*")


async def test_a_changed_document_invalidates_the_organisations_cached_results(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    tenant: Tenant,
    redis_server: RedisServer,
) -> None:
    async with ops_app(settings, runtime, redis_url=redis_server.url) as (c, _):
        doc_id = await _ingest(c, tenant, "Staff park in garage P3.", "parking")
        await _search(c, tenant, QUERY)
        assert "cache_hit_ms" in (await _search(c, tenant, QUERY))["timings_ms"]

        # Re-ingest the same document with new content: the next search misses and sees it.
        assert await _ingest(c, tenant, "Since May, staff park in garage P7.", "parking") == doc_id
        fresh = await _search(c, tenant, QUERY)
        assert "cache_miss_ms" in fresh["timings_ms"], fresh["timings_ms"]
        assert "garage P7" in fresh["results"][0]["content"]
        assert "cache_hit_ms" in (await _search(c, tenant, QUERY))["timings_ms"]

        # New labels change what filters match: cached filtered searches must not survive.
        labelled = {"query": QUERY, "filters": {"labels": ["facilities"]}}
        assert (await _search(c, tenant, **labelled))["results"] == []
        body = {"title": "Parking", "text": "Since May, staff park in garage P7."}
        body |= {"external_id": "parking", "labels": ["facilities"]}
        relabelled = await c.post("/v1/documents", json=body, headers=tenant.headers)
        assert relabelled.status_code in (200, 201, 202), relabelled.text
        await wait_for_document(c, tenant.headers, doc_id)
        found = await _search(c, tenant, **labelled)
        assert [r["document_id"] for r in found["results"]] == [doc_id], found

        # Deleting the document: no cached result may still point at it.
        deleted = await c.delete(f"/v1/documents/{doc_id}", headers=tenant.headers)
        assert deleted.status_code == 204
        after = await _search(c, tenant, QUERY)
        assert "cache_miss_ms" in after["timings_ms"]
        assert after["results"] == []


async def test_query_vectors_are_shared_between_replicas_through_redis(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    tenant: Tenant,
    redis_server: RedisServer,
) -> None:
    query = f"vector sharing {uuid.uuid4().hex[:6]}"
    async with ops_app(settings, runtime, redis_url=redis_server.url) as (c, app):
        await _search(c, tenant, query)
        shared = app.state.searcher.embeddings.shared
        with redis_server.client() as r:
            assert r.exists(shared.key(query)), "the query vector was not stored in Redis"
            assert query.encode() not in b"".join(r.keys("ragaas:qvec:*"))  # hashed, not stored
        # Another replica: its own (empty) in-memory cache, the same Redis.
        replica = make_searcher(app.state.runtime)
        from_redis, embedded = (
            sample("ragaas_query_embedding_cache_total", result="redis"),
            sample("ragaas_embedded_texts_total"),
        )
        vector = await replica.embeddings.embed(query)
        assert vector == await app.state.searcher.embeddings.embed(query)
        assert sample("ragaas_query_embedding_cache_total", result="redis") == from_redis + 1
        assert sample("ragaas_embedded_texts_total") == embedded  # nothing was embedded again


async def test_the_api_keeps_answering_while_redis_is_down(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    tenant: Tenant,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    updates = {"redis_url": redis_server.url, "rate_limit_per_minute": 1000}
    async with ops_app(settings, runtime, **updates) as (c, app):
        app.state.runtime.redis.retry_seconds = 1.0
        await _ingest(c, tenant, "Staff park in garage P3.", "parking")
        await _search(c, tenant, QUERY)
        assert "cache_hit_ms" in (await _search(c, tenant, QUERY))["timings_ms"]

        redis_server.stop()  # mid-test, as a crash would
        with caplog.at_level(logging.WARNING, logger="ragaas.cache.link"):
            for _ in range(6):
                answer = await _search(c, tenant, QUERY)
                assert "garage P3" in answer["results"][0]["content"]
                assert "cache_hit_ms" not in answer["timings_ms"]
                chat = await c.post("/v1/chat", json={"query": QUERY}, headers=tenant.headers)
                assert chat.status_code == 200, chat.text
        outages = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(outages) == 1, [r.getMessage() for r in outages]  # once per outage
        assert sample("ragaas_redis_up") == 0

        # Redis comes back (empty): after the back-off, caching resumes by itself.
        redis_server.start()
        await asyncio.sleep(1.1)
        back = await _search(c, tenant, QUERY)
        assert "cache_miss_ms" in back["timings_ms"], back["timings_ms"]
        assert "cache_hit_ms" in (await _search(c, tenant, QUERY))["timings_ms"]
        assert sample("ragaas_redis_up") == 1
