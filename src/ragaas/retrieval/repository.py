"""The SQL of retrieval: dense (HNSW) and lexical candidates, and hydrating chunk details."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.kit.pgvector_binary import BinaryVector
from ragaas.retrieval.schemas import SearchFilters, SearchResult


def _filter_sql(filters: SearchFilters, params: dict[str, Any]) -> str:
    clauses = []
    if filters.labels:
        clauses.append("d.labels @> CAST(:labels AS varchar[])")
        params["labels"] = filters.labels
    if filters.exclude_labels:
        clauses.append("NOT (d.labels && CAST(:exclude_labels AS varchar[]))")
        params["exclude_labels"] = filters.exclude_labels
    if filters.data_source_ids:
        clauses.append("d.data_source_id = ANY(CAST(:source_ids AS uuid[]))")
        params["source_ids"] = [str(i) for i in filters.data_source_ids]
    if filters.document_ids:
        clauses.append("c.document_id = ANY(CAST(:document_ids AS uuid[]))")
        params["document_ids"] = [str(i) for i in filters.document_ids]
    if filters.metadata:
        clauses.append("d.metadata @> CAST(:metadata AS jsonb)")
        params["metadata"] = json.dumps(filters.metadata)
    return "".join(f" AND {c}" for c in clauses)


_HNSW_SETTINGS = text(
    "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
    "set_config('hnsw.ef_search', :ef_search, true)"
)


async def dense_candidates(
    session: AsyncSession,
    organization_id: uuid.UUID,
    vector: list[float],
    filters: SearchFilters,
    limit: int,
) -> list[tuple[int, float]]:
    """Nearest chunks by cosine similarity, best first."""
    # Without iterative scans a filtered HNSW search silently returns only a few rows. (Both
    # settings in one round trip, for this transaction only.)
    await session.execute(_HNSW_SETTINGS, {"ef_search": str(max(40, int(limit)))})
    params: dict[str, Any] = {"org": organization_id, "vec": BinaryVector(vector), "n": limit}
    sql = (
        "SELECT c.id, 1 - (c.embedding <=> CAST(:vec AS vector)) AS score "
        "FROM chunks c JOIN documents d ON d.id = c.document_id "
        "WHERE c.organization_id = :org AND c.embedding IS NOT NULL"
        + _filter_sql(filters, params)
        + " ORDER BY c.embedding <=> CAST(:vec AS vector) LIMIT :n"
    )
    rows = (await session.execute(text(sql), params)).all()
    # relaxed_order may return rows slightly out of order; restore it.
    return sorted(((r.id, float(r.score)) for r in rows), key=lambda x: x[1], reverse=True)


# Exact BM25 (Lucene's formula) over the postings' covering index. Constants are float8: numeric
# literals would make PostgreSQL score in exact decimal arithmetic, ~10x slower.
_BM25 = """
WITH q AS (SELECT DISTINCT lexeme AS term FROM unnest(to_tsvector('english', :q))),
st AS (
    SELECT chunk_count::float8 AS n,
           total_length::float8 / greatest(chunk_count, 1)::float8 AS avgdl
    FROM lexical_stats WHERE organization_id = :org
),
idf AS (
    SELECT p.term, ln(1::float8 + (st.n - count(*) + 0.5::float8) / (count(*) + 0.5::float8)) AS w
    FROM chunk_terms p JOIN q ON p.term = q.term CROSS JOIN st
    WHERE p.organization_id = :org
    GROUP BY p.term, st.n
)
SELECT p.chunk_id AS id,
       sum(idf.w * p.tf * (CAST(:k1 AS float8) + 1)
           / (p.tf + CAST(:k1 AS float8) * (1 - CAST(:b AS float8)
              + CAST(:b AS float8) * p.chunk_length / st.avgdl))) AS score
FROM chunk_terms p JOIN idf ON p.term = idf.term CROSS JOIN st {join}
WHERE p.organization_id = :org {filters}
GROUP BY p.chunk_id
ORDER BY score DESC, p.chunk_id
LIMIT :n
"""
BM25_K1 = 1.2
BM25_B = 0.75
_FILTER_JOIN = "JOIN chunks c ON c.id = p.chunk_id JOIN documents d ON d.id = c.document_id"


async def lexical_candidates(
    session: AsyncSession,
    organization_id: uuid.UUID,
    query: str,
    filters: SearchFilters,
    limit: int,
    k1: float = BM25_K1,
    b: float = BM25_B,
) -> list[tuple[int, float]]:
    """Chunks ranked by BM25 over the query's terms (OR semantics), best first."""
    params: dict[str, Any] = {"org": organization_id, "q": query, "n": limit, "k1": k1, "b": b}
    where = _filter_sql(filters, params)
    sql = _BM25.format(join=_FILTER_JOIN if where else "", filters=where)
    rows = (await session.execute(text(sql), params)).all()
    return [(r.id, float(r.score)) for r in rows]


async def hydrate(
    session: AsyncSession, organization_id: uuid.UUID, chunk_ids: list[int]
) -> dict[int, Any]:
    """Chunk content and document fields for the given ids (scoped to the organisation)."""
    if not chunk_ids:
        return {}
    sql = text(
        "SELECT c.id, c.document_id, c.content, c.metadata AS chunk_metadata, d.external_id, "
        "d.title, d.url, d.labels FROM chunks c JOIN documents d ON d.id = c.document_id "
        "WHERE c.organization_id = :org AND c.id = ANY(CAST(:ids AS bigint[]))"
    )
    rows = (await session.execute(sql, {"org": organization_id, "ids": chunk_ids})).all()
    return {r.id: r for r in rows}


async def with_neighbours(
    session: AsyncSession, organization_id: uuid.UUID, results: list[SearchResult], window: int
) -> list[SearchResult]:
    """Each result's content widened by up to ``window`` chunks either side, in document order."""
    if not results or window <= 0:
        return results
    sql = text(
        "SELECT c.id, string_agg(n.content, E'\\n' ORDER BY n.chunk_number) AS content "
        "FROM chunks c JOIN chunks n ON n.document_id = c.document_id "
        "AND n.chunk_number BETWEEN c.chunk_number - :w AND c.chunk_number + :w "
        "WHERE c.organization_id = :org AND c.id = ANY(CAST(:ids AS bigint[])) GROUP BY c.id"
    )
    params = {"org": organization_id, "w": window, "ids": [r.chunk_id for r in results]}
    widened = {r.id: r.content for r in await session.execute(sql, params)}
    return [r.model_copy(update={"content": widened.get(r.chunk_id, r.content)}) for r in results]
