"""Database engine, sessions and URL resolution (embedded default or a configured server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ragaas.embedded import embedded_database_url, to_sqlalchemy_url
from ragaas.settings import Settings


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL to use: the configured one, or the embedded server's."""
    if settings.database_url:
        return to_sqlalchemy_url(settings.database_url)
    return embedded_database_url(settings.data_dir)


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL in the form libpq / psycopg accept directly."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def make_engine(url: str, pool_size: int = 5) -> AsyncEngine:
    """An async engine on psycopg 3; a small pool serves best on few cores."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=5, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, as the restricted role under row-level security: it sees
    nothing until the authenticated principal scopes it (``auth.dependencies``). The request
    commits at its boundary."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.tenant_sessionmaker
    async with maker() as session:
        yield session


async def get_system_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session as the owner role, exempt from row-level security: only for what must work
    before an organisation is known (authentication, login, token refresh)."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]
SystemSession = Annotated[AsyncSession, Depends(get_system_session)]
