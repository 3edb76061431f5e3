"""Share one in-process model between concurrent callers: coalesce queries, slice bulk work.

The model runs one forward pass at a time (torch already spreads a pass over every core). Without
help, four concurrent searches pay for four passes in a row, and a search arriving while the worker
embeds a 256-chunk batch waits for the whole batch. So:

- *interactive* requests (a few texts: search queries) that arrive while a pass runs are embedded
  together in the next pass — one pass for many queries costs little more than for one;
- *bulk* requests (ingestion batches) are cut into slices of ``batch_size``, and pending
  interactive requests go before the next slice, so a search waits at most one slice.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Vectors = list[list[float]]


@dataclass
class _Request:
    texts: list[str]
    future: asyncio.Future[Vectors]
    results: dict[int, list[float]] = field(default_factory=dict)
    next_index: int = 0


class MicroBatcher:
    """Runs ``encode`` (blocking, in a thread) on batches formed from concurrent ``embed`` calls."""

    def __init__(
        self, encode: Callable[[list[str]], Vectors], batch_size: int, interactive_max: int = 8
    ) -> None:
        self._encode = encode
        self.batch_size = max(1, batch_size)
        self.interactive_max = interactive_max
        self._interactive: deque[_Request] = deque()
        self._bulk: deque[_Request] = deque()
        self._drainer: asyncio.Task[None] | None = None

    async def embed(self, texts: list[str]) -> Vectors:
        """Vectors for ``texts``, in order."""
        if not texts:
            return []
        request = _Request(texts, asyncio.get_running_loop().create_future())
        queue = self._interactive if len(texts) <= self.interactive_max else self._bulk
        queue.append(request)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await request.future

    async def _drain(self) -> None:
        while self._interactive or self._bulk:
            batch = self._next_batch()
            texts = [request.texts[i] for request, i in batch]
            try:
                vectors = await asyncio.to_thread(self._encode, texts)
            except Exception as exc:  # handed to every caller in the batch
                for request in {id(r): r for r, _ in batch}.values():
                    self._fail(request, exc)
                continue
            for (request, index), vector in zip(batch, vectors, strict=True):
                request.results[index] = vector
                if len(request.results) == len(request.texts) and not request.future.done():
                    ordered = [request.results[i] for i in range(len(request.texts))]
                    request.future.set_result(ordered)

    def _next_batch(self) -> list[tuple[_Request, int]]:
        batch: list[tuple[_Request, int]] = []
        # Whole interactive requests first, as many as fit (always at least one).
        while self._interactive and (
            not batch or len(batch) + len(self._interactive[0].texts) <= self.batch_size
        ):
            request = self._interactive.popleft()
            batch.extend((request, i) for i in range(len(request.texts)))
        if batch:
            return batch
        request = self._bulk[0]
        stop = min(request.next_index + self.batch_size, len(request.texts))
        batch = [(request, i) for i in range(request.next_index, stop)]
        request.next_index = stop
        if stop == len(request.texts):
            self._bulk.popleft()
        return batch

    def _fail(self, request: _Request, exc: Exception) -> None:
        if request in self._bulk:
            self._bulk.remove(request)
        if not request.future.done():
            request.future.set_exception(exc)
