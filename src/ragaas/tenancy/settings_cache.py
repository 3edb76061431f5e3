"""An organisation's query-time settings, read once per settings generation in each process.

Every query needs the organisation's quota limits, its RAG configuration and its active rules.
They change rarely, and every change bumps ``organizations.settings_generation`` in the same
transaction (triggers of migration 0013). Authentication returns the generation with the
principal, so a process reuses what it read for the same (organisation, generation) and reads again
as soon as the generation moves: never stale, no invalidation messages, across processes and
replicas alike. A principal without a generation (built outside authentication) always reads.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")

_SIZE = 4096  # (organisation, generation, what) entries; a few per active organisation


class SettingsCache:
    """A small LRU of loaded settings keyed by organisation, generation and what was loaded."""

    def __init__(self, size: int = _SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[uuid.UUID, int, Hashable], Any] = OrderedDict()

    async def get(
        self,
        organization_id: uuid.UUID,
        generation: int | None,
        what: Hashable,
        load: Callable[[], Awaitable[T]],
    ) -> T:
        """The cached value for this generation, else ``load()`` (and keep it)."""
        if generation is None:
            return await load()
        key = (organization_id, generation, what)
        if key in self._items:
            self._items.move_to_end(key)
            return cast(T, self._items[key])
        value = await load()
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


# One per process: keys carry the organisation's id and generation, so sharing is safe.
SETTINGS = SettingsCache()
