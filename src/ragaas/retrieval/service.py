"""Hybrid retrieval: dense HNSW and lexical candidates fused with reciprocal rank fusion."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.providers.embeddings.base import Embedder
from ragaas.retrieval import repository
from ragaas.retrieval.fusion import reciprocal_rank_fusion
from ragaas.retrieval.schemas import SearchFilters, SearchMode, SearchResult

T = TypeVar("T")


class QueryEmbeddingCache:
    """A small LRU of query vectors: embedding the query is the largest fixed cost of a search."""

    def __init__(self, embedder: Embedder, size: int = 1024) -> None:
        self.embedder = embedder
        self.size = size
        self._items: OrderedDict[str, list[float]] = OrderedDict()

    async def embed(self, query: str) -> list[float]:
        """The query's vector, from cache when seen recently."""
        if query in self._items:
            self._items.move_to_end(query)
            return self._items[query]
        vector = (await self.embedder.embed([query]))[0]
        self._items[query] = vector
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return vector


@dataclass
class SearchOutcome:
    results: list[SearchResult]
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class Searcher:
    embeddings: QueryEmbeddingCache
    candidates: int = 50
    rrf_k: int = 60

    async def search(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        query: str,
        top_k: int,
        mode: SearchMode = SearchMode.HYBRID,
        filters: SearchFilters | None = None,
    ) -> SearchOutcome:
        """The organisation's best chunks for ``query``."""
        filters = filters or SearchFilters()
        timings: dict[str, float] = {}
        depth = max(self.candidates, top_k)
        lexical: list[tuple[int, float]] = []
        dense: list[tuple[int, float]] = []
        if mode is SearchMode.HYBRID:
            # The lexical SQL does not need the query vector: overlap it with the embedding.
            vector_task = asyncio.ensure_future(self._timed_embed(query, timings))
            lex = repository.lexical_candidates(session, organization_id, query, filters, depth)
            lexical = await _timed(timings, "lexical_ms", lex)
            vector = await vector_task
        elif mode is SearchMode.LEXICAL:
            lex = repository.lexical_candidates(session, organization_id, query, filters, depth)
            lexical = await _timed(timings, "lexical_ms", lex)
        else:
            vector = await self._timed_embed(query, timings)
        if mode is not SearchMode.LEXICAL:
            dns = repository.dense_candidates(session, organization_id, vector, filters, depth)
            dense = await _timed(timings, "dense_ms", dns)
        ranked = self._rank(mode, dense, lexical)[:top_k]
        ids = [cid for cid, _ in ranked]
        hydrate = repository.hydrate(session, organization_id, ids)
        rows = await _timed(timings, "hydrate_ms", hydrate)
        results = [_result(rows[cid], score) for cid, score in ranked if cid in rows]
        return SearchOutcome(results, timings)

    def _rank(
        self, mode: SearchMode, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        if mode is SearchMode.DENSE:
            return dense
        if mode is SearchMode.LEXICAL:
            return lexical
        return reciprocal_rank_fusion(
            [[cid for cid, _ in dense], [cid for cid, _ in lexical]], k=self.rrf_k
        )

    async def _timed_embed(self, query: str, timings: dict[str, float]) -> list[float]:
        started = time.perf_counter()
        vector = await self.embeddings.embed(query)
        timings["embed_ms"] = _ms(started)
        return vector


async def _timed(timings: dict[str, float], name: str, work: Awaitable[T]) -> T:
    started = time.perf_counter()
    result = await work
    timings[name] = _ms(started)
    return result


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _result(row: Any, score: float) -> SearchResult:
    return SearchResult(
        chunk_id=row.id,
        document_id=row.document_id,
        external_id=row.external_id,
        title=row.title,
        url=row.url,
        content=row.content,
        score=round(score, 6),
        metadata=row.chunk_metadata or {},
    )
