"""Rate limits per API key or user, and per organisation: GCRA, in Redis or in-process.

Every replica counts in the same Redis keys when Redis is configured, so the limits hold for the
whole deployment; without Redis (or while it is down) each replica counts in its own memory, so
the limit is per replica then (N replicas admit up to N times the limit).

The caller is identified before the endpoint runs: an API key by the SHA-256 of the key itself, a
JWT by the user it names once its signature checks out. A key's organisation is read once from the
database (after checking the key's hash) and remembered. Requests with no valid-looking bearer
credential (login, probes, /metrics) are not limited here; login has its own brute-force guard.

Two limits apply in turn: ``rate_limit_per_minute`` per key or user, then
``org_rate_limit_per_minute`` per organisation, so one organisation's many keys cannot together
exceed its share. A request refused by the first does not count against the second.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragaas.auth import api_keys
from ragaas.auth.tokens import Keys, decode_token
from ragaas.cache.gcra import Decision, MemoryLimiter, redis_hit
from ragaas.cache.link import RedisLink
from ragaas.errors import OPENAI_PATHS, NotAuthenticated, problem
from ragaas.models import ApiKey
from ragaas.observability import metrics

EXEMPT_PATHS = ("/health", "/ready", "/metrics")
_ORG_CACHE_MAX = 10_000


def caller(authorization: str | None, jwt_keys: Keys | None) -> tuple[str, str | None] | None:
    """Who a request counts against: (``key:<hash>`` or ``user:<id>``, organisation id or None
    when it must be looked up), or None (not limited)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    if api_keys.split_prefix(token) is not None:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:32], None
    if jwt_keys is None:
        return None
    try:
        claims = decode_token(jwt_keys, token, "access")
    except NotAuthenticated:
        return None  # refused by authentication anyway, without touching the database
    return f"user:{claims.user_id}", str(claims.organization_id)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.memory = MemoryLimiter()
        self._key_orgs: dict[str, str | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PATHS):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings = getattr(state, "settings", None)
        per_caller = settings.rate_limit_per_minute if settings is not None else 0
        per_org = settings.org_rate_limit_per_minute if settings is not None else 0
        who = None
        if per_caller or per_org:
            authorization = Headers(scope=scope).get("authorization")
            who = caller(authorization, getattr(state, "jwt_keys", None))
        if who is None:
            await self.app(scope, receive, send)
            return
        decided = await self._decide(state, who, authorization or "", per_caller, per_org)
        if decided is None:
            await self.app(scope, receive, send)
            return
        decision, whose = decided
        if not decision.allowed:
            metrics.RATE_LIMITED.inc()
            await _refuse(scope, receive, send, decision, whose)
            return
        headers = _limit_headers(decision)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _decide(
        self,
        state: Any,
        who: tuple[str, str | None],
        authorization: str,
        per_caller: int,
        per_org: int,
    ) -> tuple[Decision, str] | None:
        """The refusing or else the tighter of the caller's and the organisation's decisions,
        with whose limit it is (None: no limit applies)."""
        subject, organization = who
        decisions: list[tuple[Decision, str]] = []
        if per_caller:
            decisions.append((await self._hit(state, subject, per_caller), "per caller"))
            if not decisions[-1][0].allowed:
                return decisions[-1]
        if per_org:
            if organization is None:
                organization = await self._key_organization(state, subject, authorization)
            if organization is not None:
                org = await self._hit(state, f"org:{organization}", per_org)
                decisions.append((org, "per organisation"))
        if not decisions:
            return None
        refused = [d for d in decisions if not d[0].allowed]
        return refused[0] if refused else min(decisions, key=lambda d: d[0].remaining)

    async def _hit(self, state: Any, subject: str, limit: int) -> Decision:
        key = f"ragaas:rate:{subject}"
        link: RedisLink | None = getattr(getattr(state, "runtime", None), "redis", None)
        if link is not None:
            decision = await link.run(lambda r: redis_hit(r, key, limit))
            if decision is not None:
                return decision
        return self.memory.hit(key, limit)  # no Redis, or Redis down: this replica counts

    async def _key_organization(self, state: Any, subject: str, authorization: str) -> str | None:
        """The organisation of a genuine API key (None for a key that does not exist)."""
        if subject in self._key_orgs:
            return self._key_orgs[subject]
        token = authorization.partition(" ")[2].strip()
        async with state.sessionmaker() as session:
            row = (
                await session.execute(
                    select(ApiKey.key_hash, ApiKey.organization_id).where(
                        ApiKey.prefix == api_keys.split_prefix(token)
                    )
                )
            ).first()
        if row is None or not api_keys.matches(token, row.key_hash):
            return None  # not remembered: a key created later under this prefix is looked up
        if len(self._key_orgs) >= _ORG_CACHE_MAX:
            self._key_orgs.clear()
        self._key_orgs[subject] = str(row.organization_id)  # a key never changes organisation
        return self._key_orgs[subject]


def _limit_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(decision.limit).encode()),
        (b"x-ratelimit-remaining", str(max(0, decision.remaining)).encode()),
        (b"x-ratelimit-reset", str(decision.reset).encode()),
    ]


async def _refuse(
    scope: Scope, receive: Receive, send: Send, decision: Decision, whose: str
) -> None:
    detail = (
        f"rate limit of {decision.limit} requests per minute {whose} exceeded; "
        f"retry in {decision.retry_after} s"
    )
    extra: dict[str, Any] = {}
    if scope["path"].startswith(OPENAI_PATHS):
        extra["error"] = {"message": detail, "type": "Too many requests", "code": 429}
    response = problem(429, "Too many requests", detail, **extra)
    response.headers["Retry-After"] = str(decision.retry_after)
    for name, value in _limit_headers(decision):
        response.headers[name.decode()] = value.decode()
    await response(scope, receive, send)
