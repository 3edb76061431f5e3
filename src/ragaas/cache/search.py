"""Search results cached in Redis per organisation, invalidated by its index generation.

The key holds everything a result list depends on: the organisation, its *index generation*, the
query, mode, top_k and filters (after the rules' restrictions), and the searcher's effective
parameters (the RAG configuration's parameters as a content hash, plus fusion, weights, candidate
depth, reranking and the embedder). Nothing is ever deleted to invalidate: a change to the index
moves the organisation to a new generation, so old keys are simply never read again and expire.

The generation is a counter in PostgreSQL (``lexical_stats.generation``, migration 0006), bumped by
the statement triggers that already keep the organisation's BM25 statistics — any chunk insert,
update (content or vector) or delete, by Ragaas or plain SQL — and by a trigger on documents when a
field search returns or filters on (title, url, labels, metadata, external_id) changes. Reading it
is one primary-key lookup per search, in the same snapshot discipline as the search itself: it is
read *before* the search, so a result is never stored under a generation older than its data.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.cache.link import RedisLink
from ragaas.observability import metrics
from ragaas.retrieval.schemas import SearchResult

_GENERATION = text("SELECT generation FROM lexical_stats WHERE organization_id = :org")
_RESULTS = TypeAdapter(list[SearchResult])


def digest(identity: dict[str, Any]) -> str:
    """A stable hash of a JSON-able description (key order does not matter)."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Lookup:
    """One cache lookup: the key to store under (None: not cacheable now) and what was found."""

    key: str | None
    results: list[SearchResult] | None
    elapsed_ms: float


class SearchResultCache:
    def __init__(self, link: RedisLink, ttl: int) -> None:
        self.link = link
        self.ttl = ttl

    async def generation(self, session: AsyncSession, organization_id: uuid.UUID) -> int:
        """The organisation's index generation (0 before its first chunk)."""
        value = (await session.execute(_GENERATION, {"org": organization_id})).scalar()
        return int(value or 0)

    async def lookup(
        self, session: AsyncSession, organization_id: uuid.UUID, identity: dict[str, Any]
    ) -> Lookup:
        """Cached results for this search, if any; skipped entirely while Redis is down."""
        started = time.perf_counter()
        if self.ttl <= 0 or not self.link.available:
            return Lookup(None, None, 0.0)
        generation = await self.generation(session, organization_id)
        key = f"ragaas:search:{organization_id}:{generation}:{digest(identity)}"
        raw = await self.link.run(lambda r: r.get(key))
        results = _decode(raw) if isinstance(raw, bytes) else None
        if self.link.available:  # a failed GET is neither a hit nor a miss
            metrics.SEARCH_CACHE.labels("hit" if results is not None else "miss").inc()
        return Lookup(key, results, round((time.perf_counter() - started) * 1000, 2))

    async def store(self, lookup: Lookup, results: list[SearchResult]) -> None:
        """Keep a freshly computed result list under the lookup's key."""
        if lookup.key is None:
            return
        key, blob = lookup.key, _RESULTS.dump_json(results)
        await self.link.run(lambda r: r.set(key, blob, ex=self.ttl))


def _decode(raw: bytes) -> list[SearchResult] | None:
    try:
        return _RESULTS.validate_json(raw)
    except ValidationError:
        return None  # written by another version of Ragaas: recompute
