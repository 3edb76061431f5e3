"""``file`` sources: a folder on the server, under an administrator-allowed root."""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from ragaas.sources.connectors.base import (
    BuildContext,
    ConnectorError,
    ConnectorType,
    Event,
    ItemError,
    SourceItem,
    SyncState,
)


class FolderConfig(BaseModel):
    path: str = Field(description="Folder on the server, inside RAGAAS_SOURCE_FOLDER_ROOTS.")
    pattern: str = Field(default="**/*", description="Glob of files to take, relative to path.")
    max_bytes: int = Field(default=50_000_000, gt=0, description="Larger files are skipped.")


class FolderConnector:
    incremental = False

    def __init__(self, config: FolderConfig, allowed_roots: list[Path]) -> None:
        self.root = Path(config.path).resolve()
        self.config = config
        if not any(self.root.is_relative_to(r.resolve()) for r in allowed_roots):
            allowed = ", ".join(str(r) for r in allowed_roots) or "none configured"
            raise ValueError(
                f"folder {config.path!r} is outside the allowed roots ({allowed}); "
                "an administrator sets RAGAAS_SOURCE_FOLDER_ROOTS"
            )

    async def items(self, state: SyncState) -> AsyncIterator[Event]:
        if not self.root.is_dir():
            raise ConnectorError(f"folder {self.config.path!r} does not exist or is not a folder")
        paths = await asyncio.to_thread(self._list)
        for path in paths:
            yield await asyncio.to_thread(self._read, path)

    def _list(self) -> list[Path]:
        # Symlinks are not followed out of the root: a link cannot widen what a tenant reads.
        return sorted(
            p
            for p in self.root.glob(self.config.pattern)
            if p.is_file() and p.resolve().is_relative_to(self.root)
        )

    def _read(self, path: Path) -> SourceItem | ItemError:
        relative = path.relative_to(self.root).as_posix()
        try:
            stat = path.stat()
            if stat.st_size > self.config.max_bytes:
                return ItemError(relative, f"{stat.st_size} bytes, over max_bytes")
            data = path.read_bytes()
        except OSError as exc:
            return ItemError(relative, f"cannot read: {exc.strerror or exc}")
        guessed, _ = mimetypes.guess_type(path.name)
        return SourceItem(
            external_id=relative,
            title=path.stem,
            content=data,
            content_type=guessed or "application/octet-stream",
            url=path.as_uri(),
            filename=path.name,
            metadata={"path": relative},
            modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
        )


def _build(config: FolderConfig, ctx: BuildContext) -> FolderConnector:
    return FolderConnector(config, ctx.folder_roots)


CONNECTOR_TYPE = ConnectorType("file", FolderConfig, _build, "files in a server folder")
