"""Streamed answers: iterate the text as it is generated, then read the recorded result.

``POST /v1/chat`` with ``stream: true`` answers server-sent events: ``delta`` (``{"text"}``) any
number of times, then ``done`` (the whole :class:`ChatResponse`, with citations and query id) or
``error`` (``{"status", "detail"}``, e.g. the LLM failed mid-answer), which is raised here as the
matching :class:`RagaasError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import httpx

from ragaas.client._base import SSEDecoder
from ragaas.client.errors import RagaasError, connection_error, error_from_problem
from ragaas.client.models import ChatResponse


class _Events:
    """The state of one streamed answer, fed event by event."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.result: ChatResponse | None = None

    def handle(self, event: str, data: Any) -> str | None:
        """The text of a delta; records ``done``; raises an ``error`` event."""
        if event == "delta" and isinstance(data, dict):
            text = str(data.get("text", ""))
            self.parts.append(text)
            return text
        if event == "done":
            self.result = ChatResponse.model_validate(data)
        elif event == "error":
            problem = data if isinstance(data, dict) else {"detail": str(data)}
            status = problem.get("status")
            raise error_from_problem(status if isinstance(status, int) else 502, problem)
        return None

    def finished(self) -> ChatResponse:
        if self.result is None:
            raise RagaasError("the answer stream ended before its 'done' event")
        return self.result


class _Base:
    def __init__(self, url: str) -> None:
        self._url = url
        self._events = _Events()
        self._closed = False
        self._finished = False

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._events.parts)

    @property
    def result(self) -> ChatResponse:
        """The final answer with citations and query id; only once the stream is consumed."""
        if self._events.result is None:
            raise RagaasError("the stream is not finished: iterate it (or call until_done) first")
        return self._events.result


class ChatStream(_Base):
    """A streamed answer: ``for text in stream`` yields deltas; ``stream.result`` is the end.

    The request is sent on first use; use it as a context manager (or consume it) so that the
    connection is released.
    """

    def __init__(self, url: str, send: Callable[[], httpx.Response]) -> None:
        super().__init__(url)
        self._send = send
        self._response: httpx.Response | None = None
        self._lines: Iterator[str] | None = None
        self._decoder = SSEDecoder()

    def __enter__(self) -> ChatStream:
        self._open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._finished:
            raise StopIteration
        lines = self._open()
        try:
            for line in lines:
                event = self._decoder.feed(line)
                if event is not None and (text := self._events.handle(*event)) is not None:
                    return text
            event = self._decoder.flush()
            if event is not None and (text := self._events.handle(*event)) is not None:
                return text
        except httpx.TransportError as exc:
            self._finished = True
            self.close()
            raise connection_error(self._url, exc) from exc
        except BaseException:
            self._finished = True
            self.close()
            raise
        self._finished = True
        self.close()
        self._events.finished()
        raise StopIteration

    def until_done(self) -> ChatResponse:
        """Read the rest of the stream and return the final answer."""
        for _ in self:
            pass
        return self.result

    def close(self) -> None:
        """Release the connection (the answer is still recorded by the server)."""
        self._closed = True
        if self._response is not None:
            self._response.close()

    def _open(self) -> Iterator[str]:
        if self._lines is None:
            if self._closed:
                raise RagaasError("the stream is closed")
            self._response = self._send()
            self._lines = self._response.iter_lines()
        return self._lines


class AsyncChatStream(_Base):
    """The async :class:`ChatStream`: ``async for text in stream``, then ``stream.result``."""

    def __init__(self, url: str, send: Callable[[], Awaitable[httpx.Response]]) -> None:
        super().__init__(url)
        self._send = send
        self._response: httpx.Response | None = None
        self._lines: AsyncIterator[str] | None = None
        self._decoder = SSEDecoder()

    async def __aenter__(self) -> AsyncChatStream:
        await self._open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        if self._finished:
            raise StopAsyncIteration
        lines = await self._open()
        try:
            async for line in lines:
                event = self._decoder.feed(line)
                if event is not None and (text := self._events.handle(*event)) is not None:
                    return text
            event = self._decoder.flush()
            if event is not None and (text := self._events.handle(*event)) is not None:
                return text
        except httpx.TransportError as exc:
            self._finished = True
            await self.aclose()
            raise connection_error(self._url, exc) from exc
        except BaseException:
            self._finished = True
            await self.aclose()
            raise
        self._finished = True
        await self.aclose()
        self._events.finished()
        raise StopAsyncIteration

    async def until_done(self) -> ChatResponse:
        """Read the rest of the stream and return the final answer."""
        async for _ in self:
            pass
        return self.result

    async def aclose(self) -> None:
        """Release the connection (the answer is still recorded by the server)."""
        self._closed = True
        if self._response is not None:
            await self._response.aclose()

    async def _open(self) -> AsyncIterator[str]:
        if self._lines is None:
            if self._closed:
                raise RagaasError("the stream is closed")
            self._response = await self._send()
            self._lines = self._response.aiter_lines()
        return self._lines
