"""BM25 inside PostgreSQL matches scores computed by hand from the Lucene formula."""

from __future__ import annotations

import math
import uuid

import pytest
from sqlalchemy import text

from ragaas.retrieval.repository import lexical_candidates
from ragaas.retrieval.schemas import SearchFilters
from ragaas.runtime import Runtime
from tests.conftest import Tenant

# Stemmed by PostgreSQL's english configuration: apple -> appl, cherry -> cherri.
CHUNKS = ["apple apple banana", "apple cherry cherry cherry", "banana"]
K1, B = 1.2, 0.75


def bm25(tf: int, length: int, df: int, n: int, avgdl: float) -> float:
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avgdl))


async def _insert(runtime: Runtime, tenant: Tenant, contents: list[str]) -> list[int]:
    async with runtime.engine.begin() as connection:
        doc = await connection.scalar(
            text(
                "INSERT INTO documents (id, organization_id, title, content_type, metadata, labels,"
                " content_hash, blob_key, size_bytes, status, chunk_count)"
                " VALUES (:id, :org, '', 'text/plain', '{}', '{}', 'h', 'k', 0, 'ready', 0)"
                " RETURNING id"
            ),
            {"id": uuid.uuid4(), "org": tenant.organization_id},
        )
        ids = []
        for number, content in enumerate(contents):
            ids.append(
                await connection.scalar(
                    text(
                        "INSERT INTO chunks (organization_id, document_id, chunk_number, content,"
                        " token_count, metadata) VALUES (:org, :doc, :n, :c, 0, '{}') RETURNING id"
                    ),
                    {"org": tenant.organization_id, "doc": doc, "n": number, "c": content},
                )
            )
    return ids


async def test_bm25_scores_match_hand_computation(runtime: Runtime, tenant: Tenant) -> None:
    c1, c2, c3 = await _insert(runtime, tenant, CHUNKS)
    n, avgdl = 3, (3 + 4 + 1) / 3
    async with runtime.sessionmaker() as session:
        ranked = await lexical_candidates(
            session, tenant.organization_id, "apples and bananas", SearchFilters(), 10
        )
    expected = {
        c1: bm25(2, 3, 2, n, avgdl) + bm25(1, 3, 2, n, avgdl),
        c2: bm25(1, 4, 2, n, avgdl),
        c3: bm25(1, 1, 2, n, avgdl),
    }
    assert [cid for cid, _ in ranked] == sorted(expected, key=lambda c: -expected[c])
    for cid, score in ranked:
        assert score == pytest.approx(expected[cid], rel=1e-9)


async def test_statistics_follow_deletes_and_updates(runtime: Runtime, tenant: Tenant) -> None:
    c1, c2, _ = await _insert(runtime, tenant, CHUNKS)
    async with runtime.engine.begin() as connection:
        # Chunks first, as the service's deletions do (documents/locks.py): the embedding job may
        # hold them, and would wait for the statistics row the DELETE takes.
        await connection.execute(
            text("SELECT id FROM chunks WHERE id IN (:a, :b) ORDER BY id FOR UPDATE"),
            {"a": c1, "b": c2},
        )
        await connection.execute(text("DELETE FROM chunks WHERE id = :id"), {"id": c2})
        await connection.execute(
            text("UPDATE chunks SET content = 'cherry' WHERE id = :id"), {"id": c1}
        )
        stats = (
            await connection.execute(
                text(
                    "SELECT chunk_count, total_length FROM lexical_stats WHERE organization_id = :o"
                ),
                {"o": tenant.organization_id},
            )
        ).one()
    assert tuple(stats) == (2, 2)
    async with runtime.sessionmaker() as session:
        ranked = await lexical_candidates(
            session, tenant.organization_id, "cherry", SearchFilters(), 10
        )
    assert [cid for cid, _ in ranked] == [c1]
    assert ranked[0][1] == pytest.approx(bm25(1, 1, 1, 2, 1.0))


async def test_query_of_stop_words_only_matches_nothing(runtime: Runtime, tenant: Tenant) -> None:
    await _insert(runtime, tenant, CHUNKS)
    async with runtime.sessionmaker() as session:
        assert (
            await lexical_candidates(
                session, tenant.organization_id, "the and of", SearchFilters(), 10
            )
            == []
        )
