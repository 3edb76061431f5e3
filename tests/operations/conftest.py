"""Fixtures for the operations tests: a private Redis and an app wired to it."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ragaas.app import create_app
from ragaas.cache.link import RedisLink
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.operations.redis_server import RedisServer, running_redis


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@contextlib.asynccontextmanager
async def ops_app(
    settings: Settings, runtime: Runtime, **updates: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The real app on the shared database with changed settings (no second job worker: the
    session's ``client`` fixture runs one; a ``redis_url`` gets its own link)."""
    app_settings = settings.model_copy(update={"workers_in_process": False, **updates})
    link = RedisLink(app_settings.redis_url) if app_settings.redis_url else None
    app_runtime = dataclasses.replace(runtime, settings=app_settings, redis=link)
    app = create_app(app_settings, app_runtime)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ops.test") as c:
                yield c, app
    finally:
        if link is not None:
            await link.close()
