"""``ragaas mcp``: the MCP server over stdio for a local client (Claude Desktop, an IDE...).

It talks to the database directly, as the API key in ``RAGAAS_API_KEY``: that key's scopes decide
the tools, exactly as over HTTP, and it is checked again on every request, so revoking it stops
a running session. stdout carries only the protocol; logs go to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from ragaas.auth.principal import Principal
from ragaas.mcp.access import FromApiKey
from ragaas.mcp.server import build_server
from ragaas.mcp.services import Services
from ragaas.runtime import Runtime

log = logging.getLogger(__name__)


async def check_key(runtime: Runtime, api_key: str) -> Principal:
    """The key's principal, or ``MCPError`` saying why it is refused."""
    return await FromApiKey(Services.from_runtime(runtime), api_key).check()


async def serve_stdio(runtime: Runtime, api_key: str, *, worker: bool) -> None:
    """Serve MCP on stdin/stdout until the client closes the connection."""
    services = Services.from_runtime(runtime)
    server, _ = build_server(services, FromApiKey(services, api_key))
    async with _worker(runtime, enabled=worker):
        await server.run_stdio_async()


@contextlib.asynccontextmanager
async def _worker(runtime: Runtime, *, enabled: bool) -> AsyncIterator[None]:
    """An in-process job worker (so documents ingested over MCP get indexed), like ``serve``."""
    if not enabled:
        yield
        return
    await runtime.jobs.open_async()
    task = asyncio.create_task(
        runtime.jobs.run_worker_async(
            concurrency=runtime.settings.worker_concurrency, install_signal_handlers=False
        )
    )
    log.info("starting an in-process job worker")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runtime.jobs.close_async()
