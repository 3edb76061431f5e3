"""Real receivers for the notification tests: an HTTP webhook endpoint and an SMTP server.

The webhook receiver checks each signature the way docs/notifications.md tells users to (its own
HMAC code, not Ragaas's), records every request, and can be told to fail the first N of them.
"""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from fastapi import FastAPI, Request, Response


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int
    at: float

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def delivery_id(self) -> str:
        return self.headers["x-ragaas-delivery"]


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """The check a receiver makes (docs/notifications.md, Python)."""
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(f"sha256={expected.hexdigest()}", signature)


@dataclass
class WebhookReceiver:
    secret: str
    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            verified = verify(
                self.secret,
                headers.get("x-ragaas-timestamp", ""),
                body,
                headers.get("x-ragaas-signature", ""),
            )
            with self.lock:
                failing = self.fail_first > 0
                self.fail_first -= 1 if failing else 0
                status = 500 if failing else 200 if verified else 401
                self.received.append(Received(headers, body, verified, status, time.monotonic()))
            message = "receiver says no" if failing else "ok" if verified else "bad signature"
            return Response(message, status_code=status)

        return app

    def of_kind(self, kind: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.headers.get("x-ragaas-event") == kind]


@dataclass
class MailSink:
    """An aiosmtpd handler keeping every message it accepts."""

    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else content.encode()
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(raw))
        )
        return "250 Message accepted for delivery"


async def eventually(
    check: Callable[[], Any], wait_seconds: float = 60, what: str = "condition"
) -> Any:
    """Poll until ``check()`` is truthy (an awaitable result is awaited); returns it."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
