"""Rate limits per API key or user: a fixed one-minute window counted in Redis.

Every replica counts in the same Redis key, so the limit holds for the whole deployment. The caller
is identified before authentication (so refused requests cost no database work): an API key by the
SHA-256 of the key itself, a JWT by the user it names once its signature checks out. Requests with
no bearer credential (login, probes, /metrics) are not limited here, nor is anything while Redis is
down: the limit then lapses rather than the service.

A fixed window lets a caller send up to twice the limit across a minute boundary; that is the
price of one INCR per request, and fine for protecting the service from runaway clients.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

import redis.asyncio as redis
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragaas.auth import api_keys
from ragaas.auth.tokens import decode_token
from ragaas.errors import OPENAI_PATHS, NotAuthenticated, problem
from ragaas.observability import metrics

WINDOW_SECONDS = 60
EXEMPT_PATHS = ("/health", "/ready", "/metrics")


def caller(authorization: str | None, jwt_secret: str | None) -> str | None:
    """Who a request counts against: ``key:<hash>``, ``user:<id>``, or None (not limited)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    if api_keys.split_prefix(token) is not None:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    if jwt_secret is None:
        return None
    try:
        return f"user:{decode_token(jwt_secret, token, 'access').user_id}"
    except NotAuthenticated:
        return None  # refused by authentication anyway, without touching the database


async def _count(client: redis.Redis, key: str) -> int:
    async with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS * 2)
        count, _ = await pipe.execute()
    return int(count)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PATHS):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings, runtime = getattr(state, "settings", None), getattr(state, "runtime", None)
        limit: int = settings.rate_limit_per_minute if settings is not None else 0
        link = getattr(runtime, "redis", None)
        subject = caller(
            Headers(scope=scope).get("authorization"), getattr(state, "jwt_secret", None)
        )
        if not limit or link is None or subject is None:
            await self.app(scope, receive, send)
            return
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"ragaas:rate:{subject}:{window}"
        count = await link.run(lambda r: _count(r, key))
        if count is None:  # Redis down: unlimited
            await self.app(scope, receive, send)
            return
        reset = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        if count > limit:
            metrics.RATE_LIMITED.inc()
            await _refuse(scope, receive, send, limit, reset)
            return
        headers = _limit_headers(limit, limit - count, reset)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _limit_headers(limit: int, remaining: int, reset: int) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(limit).encode()),
        (b"x-ratelimit-remaining", str(max(0, remaining)).encode()),
        (b"x-ratelimit-reset", str(reset).encode()),
    ]


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int, reset: int) -> None:
    detail = f"rate limit of {limit} requests per minute exceeded; retry in {reset} s"
    extra: dict[str, Any] = {}
    if scope["path"].startswith(OPENAI_PATHS):
        extra["error"] = {"message": detail, "type": "Too many requests", "code": 429}
    response = problem(429, "Too many requests", detail, **extra)
    response.headers["Retry-After"] = str(reset)
    for name, value in _limit_headers(limit, 0, reset):
        response.headers[name.decode()] = value.decode()
    await response(scope, receive, send)
