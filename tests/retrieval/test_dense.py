"""The dense search: its HNSW settings hold for its transaction only; the query vector goes out
in pgvector's binary format and ranks by cosine."""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.kit.pgvector_binary import BinaryVector
from ragaas.retrieval.repository import dense_candidates
from ragaas.retrieval.schemas import SearchFilters
from ragaas.runtime import Runtime
from tests.conftest import Tenant

_SETTINGS = text(
    "SELECT current_setting('hnsw.iterative_scan', true) AS scan, "
    "current_setting('hnsw.ef_search', true) AS ef"
)


async def test_iterative_scans_and_the_depth_are_set_for_the_search_transaction(
    runtime: Runtime, tenant: Tenant
) -> None:
    # One connection throughout: after the rollback a pooled session may get another backend,
    # where pgvector's settings do not exist until its library is loaded (flaky in some orders).
    async with runtime.engine.connect() as connection, AsyncSession(bind=connection) as session:
        assert (
            await dense_candidates(
                session, tenant.organization_id, [0.05] * 384, SearchFilters(labels=["x"]), 120
            )
            == []
        )
        during = (await session.execute(_SETTINGS)).one()
        assert (during.scan, during.ef) == ("relaxed_order", "120")
        await session.rollback()
        after = (await session.execute(_SETTINGS)).one()
        assert (after.scan, after.ef) == ("off", "40")  # pgvector's defaults again


async def test_a_query_vector_reaches_postgresql_exactly_as_float4s(runtime: Runtime) -> None:
    values = [0.1, -2.5e-8, 1 / 3, 123456.789, 0.0, -1.0]
    async with runtime.sessionmaker() as session:
        sent = await session.scalar(
            text("SELECT CAST(CAST(:v AS vector) AS real[])"), {"v": BinaryVector(values)}
        )
    # PostgreSQL prints each float4 in the fewest digits that read back to it exactly.
    assert [np.float32(x) for x in sent] == [np.float32(x) for x in values]


async def test_the_dense_search_ranks_by_cosine_to_the_binary_query_vector(
    runtime: Runtime, tenant: Tenant
) -> None:
    vectors = ([1.0] + [0.0] * 383, [0.0, 1.0] + [0.0] * 382)
    async with runtime.sessionmaker() as session:
        document = await session.scalar(
            text(
                "INSERT INTO documents (id, organization_id, title, content_type, metadata, labels,"
                " content_hash, blob_key, size_bytes, status, chunk_count)"
                " VALUES (:id, :org, '', 'text/plain', '{}', '{}', 'h', 'k', 0, 'ready', 2)"
                " RETURNING id"
            ),
            {"id": uuid.uuid4(), "org": tenant.organization_id},
        )
        ids = [
            await session.scalar(
                text(
                    "INSERT INTO chunks (organization_id, document_id, chunk_number, content,"
                    " embedding, token_count, metadata)"
                    " VALUES (:org, :doc, :n, :c, CAST(:v AS vector), 1, '{}') RETURNING id"
                ),
                {"org": tenant.organization_id, "doc": document, "n": n, "c": f"c{n}", "v": str(v)},
            )
            for n, v in enumerate(vectors)
        ]
        query = [0.8, 0.6] + [0.0] * 382  # cosine 0.8 to the first chunk, 0.6 to the second
        found = await dense_candidates(session, tenant.organization_id, query, SearchFilters(), 10)
        await session.rollback()
    assert [chunk for chunk, _ in found] == ids
    assert [round(score, 5) for _, score in found] == [0.8, 0.6]
