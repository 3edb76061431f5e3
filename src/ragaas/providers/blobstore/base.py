"""Where raw uploads are kept."""

from __future__ import annotations

import errno
from typing import Protocol

from ragaas.errors import AppError

# The store has no room for the blob: disk full, quota exhausted, file size limit.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class BlobStoreFull(AppError):
    """The blob store refused a write for lack of space; nothing was stored."""

    status_code = 507
    title = "Insufficient storage"


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
