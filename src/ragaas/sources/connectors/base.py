"""What every connector yields, the state a sync hands it, and the one Protocol they implement.

Two kinds of connector:

- a *full lister* (``incremental = False``) yields every item the source holds, at every sync; the
  sync engine deletes the documents whose items it did not see;
- an *incremental* one (``incremental = True``) yields only what changed since the last successful
  sync (``state.since`` / ``state.cursor``) and says explicitly what is gone with ``Deleted``
  markers (it may compare the source with ``state.known_ids``). It may set ``state.next_cursor``
  (e.g. a delta link), which the next sync receives as ``state.cursor`` if this one succeeds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from ragaas.security.egress import EgressPolicy


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


@dataclass
class Deleted:
    """An incremental connector's word that this item is gone from the source."""

    external_id: str


Event = SourceItem | ItemError | Deleted


@dataclass
class SyncState:
    """What the sync engine tells a connector about the previous successful sync."""

    since: datetime | None = None  # when the last successful sync started (None: first sync)
    cursor: str | None = None  # what the connector left in next_cursor then
    known_ids: frozenset[str] = frozenset()  # external ids of the source's current documents
    next_cursor: str | None = None  # set by the connector, kept only if this sync succeeds


class Connector(Protocol):
    incremental: bool

    def items(self, state: SyncState) -> AsyncIterator[Event]:
        """The source's items (all, or the changes since ``state``). Raises ConnectorError if
        the listing fails as a whole."""
        ...


@dataclass(frozen=True)
class BuildContext:
    """What a connector may need to know about this deployment."""

    folder_roots: list[Path]
    own_database_url: str
    # Security (docs/security.md): where connectors may connect, and SQL statements' time limit.
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    query_timeout_seconds: float = 300.0


@dataclass(frozen=True)
class ConnectorType:
    """A registered type: its config model (SecretStr fields are sealed) and how to build it.

    ``build`` validates beyond the model (raise ValueError with a clear message) without touching
    the network; it runs on create/update (a 422 on error) and at each sync.
    """

    name: str
    config_model: type[BaseModel]
    build: Callable[[Any, BuildContext], Connector]  # called with a config_model instance
    description: str
