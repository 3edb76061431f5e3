"""Helpers shared by the CLI commands: settings, database access, output and errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, NoReturn, TypeVar

import typer
import uvloop
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas import migrate
from ragaas.db import database_url, make_engine, make_sessionmaker
from ragaas.settings import Settings

T = TypeVar("T")

# Results go to stdout (so ``--json`` output can be piped); messages and progress go to stderr.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear error line on stderr and exit with ``code``."""
    err_console.print(f"[bold red]Error:[/bold red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """Settings from the environment (``RAGAAS_*``), or a clear error."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "RAGAAS_" + "_".join(str(p) for p in first["loc"]).upper()
        fail(f"invalid setting {where}: {first['msg']}")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh event loop."""
    return asyncio.run(coroutine)


def run_server(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a server's coroutine on uvloop, the loop uvicorn picks for its own processes (each
    request spends less CPU in the loop than on asyncio's default selector loop)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def resolve_database(settings: Settings) -> str:
    """The database URL, starting the embedded server when none is configured."""
    return database_url(settings)


def ensure_schema(settings: Settings, url: str) -> None:
    """Migrate the embedded database when behind; refuse to touch a configured one silently."""
    if migrate.is_current(url):
        return
    if settings.database_url is None:
        migrate.upgrade(url)
        return
    fail("the database schema is not up to date: run `ragaas migrate` first")


@asynccontextmanager
async def database_session(url: str) -> AsyncIterator[AsyncSession]:
    """A session on a short-lived engine, for one-shot commands."""
    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def print_json(data: Any) -> None:
    """Machine-readable output: exactly one JSON document on stdout."""
    typer.echo(json.dumps(data, default=str))


def split_list(value: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]
