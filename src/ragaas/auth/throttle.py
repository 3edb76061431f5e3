"""Brute-force protection for password login: exponential backoff per account and per address.

Every failed login counts against the account (the e-mail, whether it exists or not, so the
answer reveals nothing) and against the client address. Past ``free`` failures a key is blocked
for ``base * 2**(failures - free)`` seconds (capped); a blocked login is refused with 429 and
Retry-After before the password is even checked. A success resets the account's count, not the
address's: one valid account must not wipe the record of guesses at others. Failures are
forgotten after ``memory`` seconds without one.

Counts live in Redis when it is configured (shared by every replica, expiring by themselves),
else in the ``login_failures`` table; a Redis outage falls back to the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as redis
from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.cache.link import RedisLink
from ragaas.errors import AppError
from ragaas.models import LoginFailure
from ragaas.settings import Settings


class LoginThrottled(AppError):
    status_code = 429
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed logins; try again in {retry_after} s",
            retry_after=retry_after,
        )
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Policy:
    free_per_account: int
    free_per_address: int
    base_seconds: float
    max_seconds: float
    memory_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            settings.login_max_failures_per_account,
            settings.login_max_failures_per_address,
            settings.login_backoff_base_seconds,
            settings.login_backoff_max_seconds,
            settings.login_failure_memory_seconds,
        )

    def block_seconds(self, failures: int, free: int) -> float:
        """How long a key with ``failures`` is blocked (0: not blocked)."""
        if failures < free:
            return 0.0
        return float(min(self.max_seconds, self.base_seconds * 2 ** (failures - free)))


class DatabaseStore:
    def __init__(self, session: AsyncSession, policy: Policy) -> None:
        self.session, self.policy = session, policy

    async def blocked_for(self, keys: list[str]) -> float | None:
        now = datetime.now(UTC)
        until = await self.session.scalars(
            select(LoginFailure.blocked_until).where(
                LoginFailure.key.in_(keys), LoginFailure.blocked_until > now
            )
        )
        return max(((u - now).total_seconds() for u in until if u is not None), default=0.0)

    async def failed(self, key: str, free: int) -> int | None:
        now = datetime.now(UTC)
        forgotten = now - timedelta(seconds=self.policy.memory_seconds)
        stmt = insert(LoginFailure).values(key=key, failures=1, last_failure_at=now)
        restarted = case(
            (LoginFailure.last_failure_at < forgotten, 1), else_=LoginFailure.failures + 1
        )
        failures = await self.session.scalar(
            stmt.on_conflict_do_update(
                index_elements=[LoginFailure.key],
                set_={"failures": restarted, "last_failure_at": now},
            ).returning(LoginFailure.failures)
        )
        count = int(failures or 1)
        block = self.policy.block_seconds(count, free)
        row = await self.session.get(LoginFailure, key, populate_existing=True)
        if row is not None:
            row.blocked_until = now + timedelta(seconds=block) if block else None
        await self.session.flush()
        return count

    async def reset(self, key: str) -> bool:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.key == key))
        return True


class RedisStore:
    def __init__(self, link: RedisLink, policy: Policy) -> None:
        self.link, self.policy = link, policy

    async def blocked_for(self, keys: list[str]) -> float | None:
        async def ttl(r: redis.Redis) -> float:
            left = [await r.pttl(f"ragaas:login:block:{k}") for k in keys]
            return max((ms / 1000 for ms in left if ms > 0), default=0.0)

        return await self.link.run(ttl)

    async def failed(self, key: str, free: int) -> int | None:
        memory_ms = int(self.policy.memory_seconds * 1000)

        async def count(r: redis.Redis) -> int:
            async with r.pipeline(transaction=True) as pipe:
                pipe.incr(f"ragaas:login:fail:{key}")
                pipe.pexpire(f"ragaas:login:fail:{key}", memory_ms)
                failures, _ = await pipe.execute()
            block = self.policy.block_seconds(int(failures), free)
            if block:
                await r.set(f"ragaas:login:block:{key}", 1, px=max(1, int(block * 1000)))
            return int(failures)

        return await self.link.run(count)

    async def reset(self, key: str) -> bool:
        async def drop(r: redis.Redis) -> bool:
            await r.delete(f"ragaas:login:fail:{key}", f"ragaas:login:block:{key}")
            return True

        return await self.link.run(drop) is not None


class LoginThrottle:
    """The guard one login request goes through."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        link: RedisLink | None,
        email: str,
        address: str | None,
    ) -> None:
        self.policy = Policy.of(settings)
        self.database = DatabaseStore(session, self.policy)
        self.redis = RedisStore(link, self.policy) if link is not None else None
        self.account = f"account:{email.strip().lower()}"
        self.address = f"address:{address}" if address else None

    def _keys(self) -> list[tuple[str, int]]:
        keys = [(self.account, self.policy.free_per_account)]
        if self.address is not None:
            keys.append((self.address, self.policy.free_per_address))
        return keys

    async def check(self) -> None:
        """Raise LoginThrottled while the account or the address is blocked."""
        keys = [k for k, _ in self._keys()]
        wait = await self.redis.blocked_for(keys) if self.redis is not None else None
        if wait is None:
            wait = await self.database.blocked_for(keys)
        if wait:
            raise LoginThrottled(max(1, math.ceil(wait)))

    async def failed(self) -> None:
        """Count a failed login against the account and the address."""
        for key, free in self._keys():
            counted = await self.redis.failed(key, free) if self.redis is not None else None
            if counted is None:
                await self.database.failed(key, free)

    async def succeeded(self) -> None:
        """Forget the account's failures (the address's are kept)."""
        if self.redis is not None:
            await self.redis.reset(self.account)
        await self.database.reset(self.account)  # also what an outage may have counted there
