"""What every connector yields, and the one Protocol they implement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class ConnectorError(Exception):
    """The source cannot be listed (unreachable, refused, misconfigured); safe to show."""


@dataclass
class SourceItem:
    """One document as the source has it; ``external_id`` is stable across syncs."""

    external_id: str
    title: str
    content: bytes
    content_type: str
    url: str | None = None
    filename: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    modified_at: datetime | None = None


@dataclass
class ItemError:
    """One item could not be read; the rest of the sync goes on, and its document is kept."""

    external_id: str
    message: str


class Connector(Protocol):
    def items(self) -> AsyncIterator[SourceItem | ItemError]:
        """Every item currently in the source. Raises ConnectorError if listing fails."""
        ...
