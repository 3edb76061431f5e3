"""The chat-model Protocol every LLM provider implements, and its value types."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import NamedTuple, Protocol


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation: ``role`` is "system", "user" or "assistant"."""

    role: str
    content: str


@dataclass
class Completion:
    """A whole reply with its token counts."""

    text: str
    tokens_in: int
    tokens_out: int
    model: str


class Usage(NamedTuple):
    """Token counts of one model call: (tokens_in, tokens_out)."""

    tokens_in: int
    tokens_out: int


class LLMError(Exception):
    """The language model failed; the message is safe to show a user (no secrets in it)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The HTTP status the model answered with (or its local equivalent), None when it never
        # answered; lets callers tell "your prompt is too long" (4xx) from "the model is down".
        self.status_code = status_code


class ChatStream(AsyncIterator[str]):
    """The text deltas of one streamed reply; ``usage`` is set once the stream is exhausted."""

    def __init__(self, events: AsyncGenerator[str | Usage, None]) -> None:
        # Providers write one async generator that yields text deltas and, last, a Usage.
        self._events = events
        self.usage: Usage | None = None

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> str:
        while True:
            event = await self._events.__anext__()
            if isinstance(event, Usage):
                self.usage = event
            else:
                return event

    async def aclose(self) -> None:
        """Stop the generation early and release the connection or the model."""
        await self._events.aclose()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class ChatModel(Protocol):
    """Generates chat replies, whole or streamed.

    Streaming: ``stream()`` returns a ``ChatStream`` at once (nothing is sent until it is
    iterated). Iterating yields non-empty text deltas; once it is exhausted, ``stream.usage``
    is ``Usage(tokens_in, tokens_out)`` (a ``tuple[int, int]``), or None if the model could not
    tell. Usage lives on the stream, not the model, so concurrent streams never mix counts.
    Failures raise ``LLMError`` from ``complete()`` or from the iteration. A consumer that stops
    early should ``await stream.aclose()`` (or use ``async with model.stream(...) as stream``).
    """

    name: str

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        model: str | None = None,
    ) -> Completion:
        """The whole reply to ``messages``."""
        ...

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        model: str | None = None,
    ) -> ChatStream:
        """The reply to ``messages`` as text deltas, with usage once exhausted."""
        ...

    async def aclose(self) -> None:
        """Release connections or the loaded model."""
        ...
