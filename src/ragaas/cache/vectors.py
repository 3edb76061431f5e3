"""Query vectors shared across replicas in Redis, behind each process's in-memory LRU.

Keyed by the embedder (name and dimension: vectors of two models never mix) and the SHA-256 of the
query text, so the text itself is not stored. Vectors are packed as float64, exactly as computed.
"""

from __future__ import annotations

import hashlib
from array import array

from ragaas.cache.link import RedisLink


class SharedQueryVectors:
    def __init__(self, link: RedisLink, embedder_name: str, dimensions: int, ttl: int) -> None:
        self.link = link
        self.ttl = ttl
        model = hashlib.sha256(f"{embedder_name}\0{dimensions}".encode()).hexdigest()[:16]
        self.namespace = f"ragaas:qvec:{model}:"
        self.dimensions = dimensions

    def key(self, query: str) -> str:
        return self.namespace + hashlib.sha256(query.encode()).hexdigest()

    async def get(self, query: str) -> list[float] | None:
        """The cached vector, or None (absent, malformed, or Redis down)."""
        key = self.key(query)
        raw = await self.link.run(lambda r: r.get(key))
        if not isinstance(raw, bytes) or len(raw) != 8 * self.dimensions:
            return None
        return array("d", raw).tolist()

    async def put(self, query: str, vector: list[float]) -> None:
        """Keep the vector for ``ttl`` seconds (a no-op with ttl 0 or Redis down)."""
        if self.ttl <= 0:
            return
        key, packed = self.key(query), array("d", vector).tobytes()
        await self.link.run(lambda r: r.set(key, packed, ex=self.ttl))
