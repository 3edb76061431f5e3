"""The reranking Protocol: score passages against a query (higher is more relevant)."""

from __future__ import annotations

from typing import Protocol


class RerankError(Exception):
    """The reranker failed; search falls back to the fused order."""


class Reranker(Protocol):
    name: str

    async def score(self, query: str, passages: list[str]) -> list[float]:
        """One relevance score per passage, in the passages' order."""
        ...
