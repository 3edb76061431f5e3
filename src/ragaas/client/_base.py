"""What the sync and async clients share: configuration, request sending rules, SSE decoding."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ragaas import __version__
from ragaas.client.errors import RagaasError

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 120.0  # an answer from a slow LLM can take a while
TERMINAL_STATUSES = ("ready", "failed")


@dataclass(frozen=True)
class Config:
    """Where the server is and how to authenticate, resolved from arguments or environment."""

    base_url: str
    api_key: str | None
    timeout: float
    headers: dict[str, str]

    @classmethod
    def resolve(
        cls,
        base_url: str | None,
        api_key: str | None,
        timeout: float | None,
        headers: Mapping[str, str] | None,
    ) -> Config:
        url = (base_url or os.environ.get("RAGAAS_URL") or DEFAULT_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("RAGAAS_API_KEY") or None
        sent = {"User-Agent": f"ragaas-python/{__version__}", "Accept": "application/json"}
        if key:
            sent["Authorization"] = f"Bearer {key}"
        sent.update(headers or {})
        return cls(url, key, DEFAULT_TIMEOUT if timeout is None else timeout, sent)


class IngestionError(RagaasError):
    """A document's ingestion ended ``failed``; ``document`` holds it (with ``error``)."""

    def __init__(self, document: Any) -> None:
        super().__init__(f"document {document.id} failed to ingest: {document.error}")
        self.document = document


class SSEDecoder:
    """Server-sent events from lines (without line endings): ``(event, data)`` per blank line."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, Any] | None:
        """Take one line; return an event when ``line`` ends one."""
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def flush(self) -> tuple[str, Any] | None:
        """The pending event, if any (also called at the end of the stream)."""
        if not self._data:
            self._event = "message"
            return None
        event, raw = self._event, "\n".join(self._data)
        self._event, self._data = "message", []
        try:
            return event, json.loads(raw)
        except ValueError:
            return event, raw
