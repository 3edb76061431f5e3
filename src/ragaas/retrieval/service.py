"""Hybrid retrieval: dense HNSW and lexical candidates fused with reciprocal rank fusion."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.cache.search import SearchResultCache, digest
from ragaas.cache.vectors import SharedQueryVectors
from ragaas.configs.schemas import RagParams
from ragaas.db import libpq_url
from ragaas.observability import metrics
from ragaas.providers.embeddings.base import Embedder
from ragaas.providers.rerank.base import Reranker, RerankError
from ragaas.retrieval import repository
from ragaas.retrieval.fusion import convex_fusion, reciprocal_rank_fusion
from ragaas.retrieval.lexical_index import LexicalIndexes
from ragaas.retrieval.schemas import SearchFilters, SearchMode, SearchResult
from ragaas.runtime import Runtime

T = TypeVar("T")
log = logging.getLogger(__name__)


class QueryEmbeddingCache:
    """A small LRU of query vectors: embedding the query is the largest fixed cost of a search.

    With Redis (``shared``), a vector one replica computed serves every replica.
    """

    def __init__(
        self, embedder: Embedder, size: int = 1024, shared: SharedQueryVectors | None = None
    ) -> None:
        self.embedder = embedder
        self.size = size
        self.shared = shared
        self._items: OrderedDict[str, list[float]] = OrderedDict()

    async def embed(self, query: str) -> list[float]:
        """The query's vector, from cache when seen recently."""
        if query in self._items:
            self._items.move_to_end(query)
            metrics.QUERY_EMBEDDING_CACHE.labels("memory").inc()
            return self._items[query]
        vector = await self.shared.get(query) if self.shared is not None else None
        if vector is not None:
            metrics.QUERY_EMBEDDING_CACHE.labels("redis").inc()
        else:
            vector = (await self.embedder.embed([query]))[0]
            metrics.QUERY_EMBEDDING_CACHE.labels("miss").inc()
            if self.shared is not None:
                await self.shared.put(query, vector)
        self._items[query] = vector
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return vector


@dataclass
class SearchOutcome:
    results: list[SearchResult]
    timings_ms: dict[str, float] = field(default_factory=dict)
    rerank_error: str | None = None


@dataclass
class Searcher:
    embeddings: QueryEmbeddingCache
    candidates: int = 50
    fusion: str = "zscore"
    lexical_weight: float = 0.5
    rrf_k: int = 60
    reranker: Reranker | None = None
    rerank_depth: int = 20
    rerank_timeout: float = 2.0
    results_cache: SearchResultCache | None = None
    config_digest: str = ""  # the RAG configuration's parameters, for the result cache's keys
    lexical_index: LexicalIndexes | None = None  # in-memory BM25 for large organisations

    def tuned(self, params: RagParams) -> Searcher:
        """This searcher with a configuration's retrieval parameters (unset ones unchanged)."""
        changes: dict[str, Any] = {}
        if self.results_cache is not None:
            changes["config_digest"] = digest(params.model_dump(mode="json"))
        if params.candidates is not None:
            changes["candidates"] = params.candidates
        if params.lexical_weight is not None:
            changes["lexical_weight"] = params.lexical_weight
        if params.rerank is False:
            changes["reranker"] = None
        if params.rerank_depth is not None:
            changes["rerank_depth"] = params.rerank_depth
        return replace(self, **changes) if changes else self

    async def search(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        query: str,
        top_k: int,
        mode: SearchMode = SearchMode.HYBRID,
        filters: SearchFilters | None = None,
    ) -> SearchOutcome:
        """The organisation's best chunks for ``query`` (from the result cache when it has them)."""
        filters = filters or SearchFilters()
        if self.results_cache is None:
            return await self._search(session, organization_id, query, top_k, mode, filters)
        identity = self._identity(query, top_k, mode, filters)
        lookup = await self.results_cache.lookup(session, organization_id, identity)
        if lookup.results is not None:
            return SearchOutcome(lookup.results, {"cache_hit_ms": lookup.elapsed_ms})
        outcome = await self._search(session, organization_id, query, top_k, mode, filters)
        if lookup.key is not None:
            outcome.timings_ms["cache_miss_ms"] = lookup.elapsed_ms
            if outcome.rerank_error is None:  # a degraded (unreranked) list is not kept
                await self.results_cache.store(lookup, outcome.results)
        return outcome

    def _identity(
        self, query: str, top_k: int, mode: SearchMode, filters: SearchFilters
    ) -> dict[str, Any]:
        """Everything besides the organisation's index that decides a search's results."""
        return {
            "query": query,
            "top_k": top_k,
            "mode": mode.value,
            "filters": filters.model_dump(mode="json"),
            "config": self.config_digest,
            "embedder": self.embeddings.embedder.name,
            "candidates": self.candidates,
            "fusion": self.fusion,
            "lexical_weight": self.lexical_weight,
            "rrf_k": self.rrf_k,
            "reranker": type(self.reranker).__name__ if self.reranker else None,
            "rerank_depth": self.rerank_depth,
        }

    async def _search(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        query: str,
        top_k: int,
        mode: SearchMode,
        filters: SearchFilters,
    ) -> SearchOutcome:
        timings: dict[str, float] = {}
        depth = max(self.candidates, top_k)
        lexical: list[tuple[int, float]] = []
        dense: list[tuple[int, float]] = []
        if mode is SearchMode.HYBRID:
            # The lexical work does not need the query vector: it overlaps the embedding, and
            # in-memory scoring (in a thread) overlaps the dense SQL too.
            vector_task = asyncio.ensure_future(self._timed_embed(query, timings))
            lexical_task = await self._lexical(
                session, organization_id, query, filters, depth, timings
            )
            vector = await vector_task
        elif mode is SearchMode.LEXICAL:
            lexical_task = await self._lexical(
                session, organization_id, query, filters, depth, timings
            )
        else:
            vector = await self._timed_embed(query, timings)
        if mode is not SearchMode.LEXICAL:
            dns = repository.dense_candidates(session, organization_id, vector, filters, depth)
            dense = await _timed(timings, "dense_ms", dns)
        if mode is not SearchMode.DENSE:
            lexical = await lexical_task
        keep = max(top_k, self.rerank_depth) if self.reranker else top_k
        ranked = self._rank(mode, dense, lexical)[:keep]
        ids = [cid for cid, _ in ranked]
        hydrate = repository.hydrate(session, organization_id, ids)
        rows = await _timed(timings, "hydrate_ms", hydrate)
        results = [_result(rows[cid], score) for cid, score in ranked if cid in rows]
        outcome = SearchOutcome(results, timings)
        if self.reranker is not None and results:
            await self._rerank(query, outcome, self.reranker)
        outcome.results = outcome.results[:top_k]
        return outcome

    async def _lexical(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        query: str,
        filters: SearchFilters,
        limit: int,
        timings: dict[str, float],
    ) -> asyncio.Future[list[tuple[int, float]]]:
        """BM25 candidates, timed as ``lexical_ms``: from the in-memory index when it is current
        and nothing filters (scored in a thread: the future may still be running on return),
        else by the SQL (done on return). Either way the session is free for the next query."""
        started = time.perf_counter()
        if self.lexical_index is not None and filters == SearchFilters():
            scoring = await self.lexical_index.start(
                session, organization_id, query, limit, repository.BM25_K1, repository.BM25_B
            )
            if scoring is not None:
                return asyncio.ensure_future(_timed(timings, "lexical_ms", scoring, started))
        found = await repository.lexical_candidates(session, organization_id, query, filters, limit)
        timings["lexical_ms"] = _ms(started)
        done = asyncio.get_running_loop().create_future()
        done.set_result(found)
        return done

    async def _rerank(self, query: str, outcome: SearchOutcome, reranker: Reranker) -> None:
        head = outcome.results[: self.rerank_depth]
        started = time.perf_counter()
        try:
            scores = await asyncio.wait_for(
                reranker.score(query, [r.content for r in head]), self.rerank_timeout
            )
        except (TimeoutError, RerankError) as exc:
            # Reranking is an optional refinement: without it the fused order still stands.
            outcome.rerank_error = str(exc) or "timed out"
            log.warning("rerank skipped: %s", outcome.rerank_error)
            return
        finally:
            outcome.timings_ms["rerank_ms"] = _ms(started)
        order = sorted(range(len(head)), key=lambda i: -scores[i])
        reranked = [head[i].model_copy(update={"score": round(scores[i], 6)}) for i in order]
        outcome.results = reranked + outcome.results[self.rerank_depth :]

    def _rank(
        self, mode: SearchMode, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        if mode is SearchMode.DENSE:
            return dense
        if mode is SearchMode.LEXICAL:
            return lexical
        if self.fusion == "rrf":
            return reciprocal_rank_fusion(
                [[cid for cid, _ in dense], [cid for cid, _ in lexical]], k=self.rrf_k
            )
        return convex_fusion(dense, lexical, self.lexical_weight)

    async def _timed_embed(self, query: str, timings: dict[str, float]) -> list[float]:
        started = time.perf_counter()
        vector = await self.embeddings.embed(query)
        timings["embed_ms"] = _ms(started)
        return vector


async def _timed(
    timings: dict[str, float], name: str, work: Awaitable[T], started: float | None = None
) -> T:
    started = time.perf_counter() if started is None else started
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
        labels=list(row.labels or []),
    )


def make_searcher(runtime: Runtime) -> Searcher:
    """The search service as configured in the runtime's settings."""
    settings = runtime.settings
    link = runtime.redis
    shared = None
    if link is not None and settings.embedding_cache_ttl_seconds > 0:
        embedder = runtime.queries
        ttl = settings.embedding_cache_ttl_seconds
        shared = SharedQueryVectors(link, embedder.name, embedder.dimensions, ttl)
    return Searcher(
        QueryEmbeddingCache(runtime.queries, shared=shared),
        candidates=settings.search_candidates,
        fusion=settings.hybrid_fusion,
        lexical_weight=settings.hybrid_lexical_weight,
        rrf_k=settings.rrf_k,
        reranker=runtime.reranker,
        rerank_depth=settings.rerank_depth,
        rerank_timeout=settings.rerank_timeout_seconds,
        results_cache=(
            SearchResultCache(link, settings.search_cache_ttl_seconds)
            if link is not None and settings.search_cache_ttl_seconds > 0
            else None
        ),
        lexical_index=(
            LexicalIndexes(
                libpq_url(runtime.url),
                settings.lexical_index_min_chunks,
                settings.lexical_index_max_postings,
            )
            if settings.lexical_index_min_chunks > 0
            else None
        ),
    )
