"""The dense search's HNSW settings hold for its transaction only."""

from __future__ import annotations

from sqlalchemy import text

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
    async with runtime.sessionmaker() as session:
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
