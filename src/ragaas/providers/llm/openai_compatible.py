"""Any OpenAI-compatible ``/chat/completions`` endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp).

Also holds the helpers that read OpenAI's wire format, shared with the in-process local model
(xllamacpp answers in the same format).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from ragaas.providers.llm.base import ChatMessage, ChatStream, Completion, LLMError, Usage

_MAX_DETAIL_CHARS = 300


class OpenAICompatibleChat:
    """A chat model behind an OpenAI-compatible HTTP API, over one shared connection pool."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = _parse_base_url(base_url)
        self.name = model
        self._url = base_url.rstrip("/") + "/chat/completions"
        # Userinfo and query may hold credentials: error messages show only scheme, host, path.
        self._where = str(url.copy_with(userinfo=b"", query=None))
        self._api_key = api_key
        self._timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(timeout), transport=transport
        )

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        model: str | None = None,
    ) -> Completion:
        """The whole reply; usage is estimated if the server reports none."""
        payload = self._payload(messages, max_tokens, temperature, stream=False, model=model)
        with self._translate_errors():
            response = await self._client.post(self._url, json=payload)
        self._raise_for_status(response)
        body = _json_or_error(response.text)
        raise_if_error(body)
        text, usage = parse_completion(body, prompt_text=prompt_text(messages))
        model = body.get("model") if isinstance(body.get("model"), str) else None
        return Completion(text, usage.tokens_in, usage.tokens_out, model or self.name)

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        model: str | None = None,
    ) -> ChatStream:
        """Stream deltas over SSE; usage comes from the server or, if absent, is counted."""
        payload = self._payload(messages, max_tokens, temperature, stream=True, model=model)
        return ChatStream(self._events(payload, prompt_text(messages)))

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def _events(
        self, payload: dict[str, Any], prompt: str
    ) -> AsyncGenerator[str | Usage, None]:
        usage: Usage | None = None
        deltas = 0
        with self._translate_errors():
            async with self._client.stream("POST", self._url, json=payload) as response:
                if response.is_error:
                    await response.aread()
                    self._raise_for_status(response)
                async for data in _sse_data(response.aiter_lines()):
                    for event in chunk_events(_json_or_error(data)):
                        if isinstance(event, Usage):
                            usage = event
                        else:
                            deltas += 1
                            yield event
        # Servers that ignore stream_options send no usage; most send one token per chunk.
        yield usage or Usage(estimate_tokens(prompt), deltas)

    def _payload(
        self,
        messages: list[ChatMessage],
        max_tokens: int,
        temperature: float,
        *,
        stream: bool,
        model: str | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": model or self.name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stream:
            payload |= {"stream": True, "stream_options": {"include_usage": True}}
        return payload

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException:
            raise LLMError(
                f"the language model at {self._where} did not answer within {self._timeout:g} s"
            ) from None
        except httpx.ConnectError:
            raise LLMError(f"could not connect to the language model at {self._where}") from None
        except httpx.HTTPError as exc:
            reason = type(exc).__name__
            raise LLMError(
                f"the connection to the language model at {self._where} failed ({reason})"
            ) from None

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        detail = _error_detail(response.text) or response.reason_phrase or "no detail"
        if self._api_key:
            detail = detail.replace(self._api_key, "***")
        raise LLMError(
            f"the language model returned HTTP {response.status_code}: {detail}",
            status_code=response.status_code,
        )


def prompt_text(messages: list[ChatMessage]) -> str:
    """All message contents joined, for estimating prompt tokens."""
    return "\n".join(m.content for m in messages)


def estimate_tokens(text: str) -> int:
    """A rough token count (~4 characters per token) for servers that report no usage."""
    return math.ceil(len(text) / 4)


def parse_completion(body: dict[str, Any], *, prompt_text: str) -> tuple[str, Usage]:
    """The reply text and usage of a ``chat.completion`` body; usage estimated if absent."""
    try:
        text = body["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise LLMError("the language model returned a reply without a message") from None
    usage = parse_usage(body.get("usage"))
    return str(text), usage or Usage(estimate_tokens(prompt_text), estimate_tokens(str(text)))


def parse_usage(usage: Any) -> Usage | None:
    """OpenAI's ``usage`` object as a Usage, or None if absent or malformed."""
    if not isinstance(usage, dict):
        return None
    tokens_in, tokens_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(tokens_in, int) and isinstance(tokens_out, int):
        return Usage(tokens_in, tokens_out)
    return None


def chunk_events(chunk: Any) -> Iterator[str | Usage]:
    """The text delta and/or usage in one ``chat.completion.chunk``."""
    if not isinstance(chunk, dict):
        raise LLMError("the language model sent a malformed stream chunk")
    raise_if_error(chunk)
    for choice in chunk.get("choices") or []:
        content = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
        if isinstance(content, str) and content:
            yield content
    usage = parse_usage(chunk.get("usage"))
    if usage is not None:
        yield usage


def raise_if_error(body: dict[str, Any]) -> None:
    """Raise LLMError if an OpenAI-format body is an ``{"error": ...}`` object."""
    error = body.get("error")
    if error is None:
        return
    message = error.get("message") if isinstance(error, dict) else error
    code = error.get("code") if isinstance(error, dict) else None
    raise LLMError(
        f"the language model reported an error: {str(message)[:_MAX_DETAIL_CHARS]}",
        status_code=code if isinstance(code, int) else None,
    )


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    # OpenAI's streams put one JSON chunk per "data:" line and end with "data: [DONE]";
    # comments (":"), "event:" lines and blank separators carry nothing we need.
    async for line in lines:
        if line.startswith("error:"):
            # llama.cpp's server reports a failure after the 200 as an "error: {...}" line.
            raise_if_error({"error": _json_or_error(line[6:].strip())})
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if data:
            yield data


def _parse_base_url(base_url: str) -> httpx.URL:
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        url = httpx.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"LLM base URL must look like http(s)://host[:port]/v1, got {base_url!r}")
    return url


def _json_or_error(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        raise LLMError("the language model returned a response that is not JSON") from None
    if not isinstance(body, dict):
        raise LLMError("the language model returned a response that is not a JSON object")
    return body


def _error_detail(text: str) -> str | None:
    # OpenAI and most clones: {"error": {"message": ...}}; FastAPI-style servers: {"detail": ...}.
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:_MAX_DETAIL_CHARS] or None
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error or body.get("detail")
        if message:
            return str(message)[:_MAX_DETAIL_CHARS]
    return text.strip()[:_MAX_DETAIL_CHARS] or None
