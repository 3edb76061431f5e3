"""The in-memory BM25 index returns exactly what the SQL returns, and never a stale answer."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import text

from ragaas.db import libpq_url
from ragaas.retrieval.lexical_index import LexicalIndexes, load_index, query_stats
from ragaas.retrieval.repository import BM25_B, BM25_K1, lexical_candidates
from ragaas.retrieval.schemas import SearchFilters, SearchMode
from ragaas.retrieval.service import QueryEmbeddingCache, Searcher
from ragaas.runtime import Runtime
from tests.conftest import Tenant, TenantFactory
from tests.retrieval.test_bm25 import _insert

WORDS = [
    "protein",
    "cell",
    "gene",
    "expression",
    "mutation",
    "cancer",
    "tumour",
    "receptor",
    "binding",
    "pathway",
    "signal",
    "kinase",
    "membrane",
    "transport",
    "insulin",
    "glucose",
    "metabolism",
    "immune",
    "response",
    "antibody",
    "virus",
]
QUERIES = [
    "gene expression in cancer cells",
    "insulin receptor signal pathway",
    "antibody response to a virus",
    "membrane transport of glucose",
    "unrelated words nobody wrote",
]


def _corpus(size: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(3, 40))) for _ in range(size)]


async def _sql(runtime: Runtime, tenant: Tenant, query: str, limit: int) -> list[tuple[int, float]]:
    async with runtime.sessionmaker() as session:
        return await lexical_candidates(
            session, tenant.organization_id, query, SearchFilters(), limit
        )


async def _memory(
    runtime: Runtime, indexes: LexicalIndexes, tenant: Tenant, query: str, limit: int
) -> list[tuple[int, float]] | None:
    async with runtime.sessionmaker() as session:
        scoring = await indexes.start(
            session, tenant.organization_id, query, limit, BM25_K1, BM25_B
        )
    return None if scoring is None else await scoring


async def _current(
    runtime: Runtime, indexes: LexicalIndexes, tenant: Tenant, query: str, limit: int
) -> list[tuple[int, float]]:
    """Rebuild until the index is current: the worker embedding the inserted chunks moves the
    organisation's generation too, and a search uses the index only when nothing moved."""
    for _ in range(100):
        await indexes.refresh(tenant.organization_id)
        found = await _memory(runtime, indexes, tenant, query, limit)
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the in-memory index never caught up with the organisation")


def _same(memory: list[tuple[int, float]], sql: list[tuple[int, float]]) -> None:
    """Same ranking; equal scores may differ in the last bits (summation order), so chunks whose
    scores tie may swap places, and a tie at the cut-off may keep either chunk."""
    assert [s for _, s in memory] == pytest.approx([s for _, s in sql], rel=1e-9)
    mine, theirs = dict(memory), dict(sql)
    for cid in mine.keys() & theirs.keys():
        assert mine[cid] == pytest.approx(theirs[cid], rel=1e-9)
    cut = sql[-1][1] if sql else 0.0
    for cid in mine.keys() ^ theirs.keys():
        assert mine.get(cid, theirs.get(cid)) == pytest.approx(cut, rel=1e-9)


async def test_memory_scores_equal_the_sql(runtime: Runtime, tenant: Tenant) -> None:
    await _insert(runtime, tenant, _corpus(300, seed=1))
    indexes = LexicalIndexes(libpq_url(runtime.url), min_chunks=1, max_postings=10**9)
    # Not built yet: the SQL answers and a build starts.
    assert await _memory(runtime, indexes, tenant, QUERIES[0], 20) is None
    for query in QUERIES:
        for limit in (1, 10, 500):
            memory = await _current(runtime, indexes, tenant, query, limit)
            _same(memory, await _sql(runtime, tenant, query, limit))
    assert await _current(runtime, indexes, tenant, QUERIES[-1], 10) == []
    # Other BM25 parameters than the precomputed weights' are computed per query, as exactly.
    index = indexes.get(tenant.organization_id)
    assert index is not None
    assert index.weighted_for[:2] == (BM25_K1, BM25_B)
    for k1, b in ((0.9, 0.4), (2.0, 1.0)):
        async with runtime.sessionmaker() as session:
            stats = await query_stats(session, tenant.organization_id, QUERIES[1])
            sql = await lexical_candidates(
                session, tenant.organization_id, QUERIES[1], SearchFilters(), 50, k1, b
            )
        _same(index.top(stats, 50, k1, b), sql)


async def test_a_change_to_the_index_is_never_served_stale(
    runtime: Runtime, tenant: Tenant
) -> None:
    await _insert(runtime, tenant, _corpus(50, seed=2))
    indexes = LexicalIndexes(libpq_url(runtime.url), min_chunks=1, max_postings=10**9)
    assert await _current(runtime, indexes, tenant, "zebra", 5) == []

    (added,) = await _insert(runtime, tenant, ["a zebra crossing the savanna"])
    assert await _memory(runtime, indexes, tenant, "zebra", 5) is None  # stale: the SQL answers
    found = await _current(runtime, indexes, tenant, "zebra", 5)
    assert [cid for cid, _ in found] == [added]
    _same(found, await _sql(runtime, tenant, "zebra", 5))

    async with runtime.engine.begin() as connection:
        await connection.execute(text("DELETE FROM chunks WHERE id = :id"), {"id": added})
    assert await _memory(runtime, indexes, tenant, "zebra", 5) is None
    assert await _current(runtime, indexes, tenant, "zebra", 5) == []


async def test_small_organisations_stay_on_the_sql(runtime: Runtime, tenant: Tenant) -> None:
    await _insert(runtime, tenant, _corpus(20, seed=3))
    indexes = LexicalIndexes(libpq_url(runtime.url), min_chunks=21, max_postings=10**9)
    assert await _memory(runtime, indexes, tenant, QUERIES[0], 5) is None
    assert indexes.get(tenant.organization_id) is None
    assert not indexes._building  # no build was started


async def test_least_recently_used_index_is_dropped_over_budget(
    runtime: Runtime, make_tenant: TenantFactory
) -> None:
    first, second = await make_tenant(), await make_tenant()
    await _insert(runtime, first, _corpus(40, seed=4))
    await _insert(runtime, second, _corpus(40, seed=5))
    one = load_index(libpq_url(runtime.url), first.organization_id).postings
    indexes = LexicalIndexes(libpq_url(runtime.url), min_chunks=1, max_postings=one + 1)
    await indexes.refresh(first.organization_id)
    await indexes.refresh(second.organization_id)
    assert indexes.get(first.organization_id) is None
    assert indexes.get(second.organization_id) is not None


async def test_searcher_uses_the_index_unless_filtered(runtime: Runtime, tenant: Tenant) -> None:
    await _insert(runtime, tenant, _corpus(100, seed=6))
    indexes = LexicalIndexes(libpq_url(runtime.url), min_chunks=1, max_postings=10**9)
    searcher = Searcher(QueryEmbeddingCache(runtime.embedder), lexical_index=indexes)
    await indexes.refresh(tenant.organization_id)
    async with runtime.sessionmaker() as session:
        found = await searcher.search(
            session, tenant.organization_id, QUERIES[1], 10, SearchMode.LEXICAL
        )
        filtered = await searcher.search(
            session,
            tenant.organization_id,
            QUERIES[1],
            10,
            SearchMode.LEXICAL,
            SearchFilters(labels=["nothing-has-this"]),
        )
    expected = await _sql(runtime, tenant, QUERIES[1], 10)
    assert [r.chunk_id for r in found.results] == [cid for cid, _ in expected]
    assert filtered.results == []


async def test_preload_builds_the_largest_organisations(runtime: Runtime, tenant: Tenant) -> None:
    await _insert(runtime, tenant, _corpus(30, seed=7))
    indexes = LexicalIndexes(libpq_url(runtime.url), min_chunks=30, max_postings=10**9)
    async with runtime.sessionmaker() as session:
        await indexes.preload(session)
    index = indexes.get(tenant.organization_id)
    assert index is not None
    assert index.chunk_ids.shape[0] == 30
