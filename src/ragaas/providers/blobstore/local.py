"""Blobs on local disk, written atomically via a temporary file and rename."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from ragaas.providers.blobstore.base import NO_SPACE_ERRNOS, BlobStoreFull


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"invalid blob key {key!r}")
        return path

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
                raise BlobStoreFull(
                    f"the blob store has no room for this {len(data)}-byte file "
                    f"({os.strerror(exc.errno)}); an operator must free or add space"
                ) from exc
            raise

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``."""
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes:
        """Read the blob."""
        return await asyncio.to_thread(self._path(key).read_bytes)

    def _delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        root = self.root.resolve()
        # Remove the folders the key created, as long as they are empty.
        for parent in path.parents:
            if parent == root or not parent.is_relative_to(root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    async def delete(self, key: str) -> None:
        """Delete the blob (and its now-empty folders) if it exists."""
        await asyncio.to_thread(self._delete, key)
