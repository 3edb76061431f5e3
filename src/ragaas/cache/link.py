"""The Redis connection, wrapped so that Redis going away never fails a request.

Redis only makes Ragaas faster (caches) and fairer (rate limits); PostgreSQL is the truth. So every
Redis call goes through :meth:`RedisLink.run`, which answers ``None`` when Redis does not answer:
callers then behave as on a cache miss or an unlimited caller. The first failure of an outage is
logged once, and for ``retry_seconds`` after a failure Redis is not even tried, so requests do not
each pay a connection timeout while it is down; the first call after that tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ragaas.observability import metrics

T = TypeVar("T")
log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 0.5
COMMAND_TIMEOUT_SECONDS = 1.0
RETRY_SECONDS = 5.0


class RedisLink:
    def __init__(self, url: str, *, retry_seconds: float = RETRY_SECONDS) -> None:
        self.url = url
        self.retry_seconds = retry_seconds
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
            # One immediate retry replaces a pooled connection Redis dropped (e.g. it restarted);
            # anything longer is an outage, handled below rather than by waiting.
            retry=Retry(NoBackoff(), 1),
        )
        self._down_until = 0.0
        self._down = False

    @property
    def available(self) -> bool:
        """False during an outage's back-off (the next call after it tries Redis again)."""
        return time.monotonic() >= self._down_until

    async def run(self, command: Callable[[redis.Redis], Awaitable[T]]) -> T | None:
        """``command``'s result, or None if Redis is down (logged once per outage)."""
        if not self.available:
            return None
        try:
            result = await command(self.client)
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + self.retry_seconds
            if not self._down:
                self._down = True
                metrics.REDIS_UP.set(0)
                log.warning(
                    "Redis at %s is unavailable (%s): serving without cache and rate limits; "
                    "retrying every %.0fs",
                    _redacted(self.url),
                    exc,
                    self.retry_seconds,
                )
            return None
        if self._down:
            self._down = False
            log.info("Redis at %s is back: cache and rate limits resumed", _redacted(self.url))
        metrics.REDIS_UP.set(1)
        return result

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()


def _redacted(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"
