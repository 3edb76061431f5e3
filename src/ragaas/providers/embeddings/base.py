"""The embedding Protocol every provider implements."""

from __future__ import annotations

from typing import Protocol


class EmbeddingError(Exception):
    """The embedding provider failed; the message is safe to show."""


class Embedder(Protocol):
    name: str
    dimensions: int

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors for ``texts``, in order."""
        ...
