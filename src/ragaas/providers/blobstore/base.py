"""Where raw uploads are kept."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically (never half-written)."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; FileNotFoundError if absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        ...
