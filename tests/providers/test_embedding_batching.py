"""The micro-batcher that shares the in-process model: coalescing, slicing, priority, failures."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from ragaas.providers.embeddings.batching import MicroBatcher
from ragaas.runtime import Runtime


class RecordingEncoder:
    """Encodes a text as [len(text)], records each pass, and can be held to let callers queue."""

    def __init__(self) -> None:
        self.passes: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_on: str | None = None

    def __call__(self, texts: list[str]) -> list[list[float]]:
        self.gate.wait(5)
        self.passes.append(list(texts))
        if self.fail_on in texts:
            raise RuntimeError("model exploded")
        return [[float(len(t))] for t in texts]


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_queries_arriving_during_a_pass_share_the_next_one() -> None:
    encoder = RecordingEncoder()
    batcher = MicroBatcher(encoder, batch_size=32)
    encoder.gate.clear()
    first = asyncio.create_task(batcher.embed(["a"]))
    await asyncio.sleep(0.05)  # the first pass is now running (held at the gate)
    rest = [asyncio.create_task(batcher.embed(["b" * n])) for n in range(2, 6)]
    await asyncio.sleep(0.05)
    encoder.gate.set()
    assert await first == [[1.0]]
    assert [await r for r in rest] == [[[2.0]], [[3.0]], [[4.0]], [[5.0]]]
    assert encoder.passes == [["a"], ["bb", "bbb", "bbbb", "bbbbb"]]


async def test_bulk_work_is_sliced_and_queries_jump_the_queue() -> None:
    encoder = RecordingEncoder()
    batcher = MicroBatcher(encoder, batch_size=4, interactive_max=2)
    encoder.gate.clear()
    bulk_texts = [f"chunk{i:02d}" for i in range(10)]
    bulk = asyncio.create_task(batcher.embed(bulk_texts))
    await asyncio.sleep(0.05)  # first slice running
    query = asyncio.create_task(batcher.embed(["q"]))
    await asyncio.sleep(0.05)
    encoder.gate.set()
    assert await query == [[1.0]]
    assert await bulk == [[7.0]] * 10
    assert encoder.passes == [bulk_texts[:4], ["q"], bulk_texts[4:8], bulk_texts[8:]]


async def test_a_failed_pass_fails_its_callers_and_not_the_others() -> None:
    encoder = RecordingEncoder()
    batcher = MicroBatcher(encoder, batch_size=2, interactive_max=1)
    encoder.fail_on = "bad"
    encoder.gate.clear()
    doomed = asyncio.create_task(batcher.embed(["x", "bad", "y"]))  # bulk, 2 slices
    await asyncio.sleep(0.05)
    fine = asyncio.create_task(batcher.embed(["ok"]))
    await asyncio.sleep(0.05)
    encoder.gate.set()
    with pytest.raises(RuntimeError, match="model exploded"):
        await doomed
    assert await fine == [[2.0]]
    # The failed request's remaining slice was dropped, not encoded for nobody.
    assert encoder.passes == [["x", "bad"], ["ok"]]
    assert await batcher.embed(["again"]) == [[5.0]]


async def test_a_cancelled_caller_does_not_break_the_batch() -> None:
    encoder = RecordingEncoder()
    batcher = MicroBatcher(encoder, batch_size=8)
    encoder.gate.clear()
    first = asyncio.create_task(batcher.embed(["a"]))
    await asyncio.sleep(0.05)
    gone = asyncio.create_task(batcher.embed(["gone"]))
    kept = asyncio.create_task(batcher.embed(["kept"]))
    await asyncio.sleep(0.05)
    gone.cancel()
    encoder.gate.set()
    assert await first == [[1.0]]
    assert await kept == [[4.0]]
    await _until(lambda: len(encoder.passes) == 2)


async def test_concurrent_queries_on_the_real_model_match_one_at_a_time(runtime: Runtime) -> None:
    texts = ["how do vaccines work", "tumour suppressor genes", "sleep and memory", "x"]
    alone = [(await runtime.embedder.embed([t]))[0] for t in texts]
    together = await asyncio.gather(*(runtime.embedder.embed([t]) for t in texts))
    for a, (b,) in zip(alone, together, strict=True):
        assert sum(x * y for x, y in zip(a, b, strict=True)) == pytest.approx(1.0, abs=1e-4)
