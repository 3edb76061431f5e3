"""``/mcp``: the MCP server over streamable HTTP inside the API, behind bearer authentication.

Every HTTP request must carry ``Authorization: Bearer <API key or access token>``; a missing or
bad credential is a 401 problem+json before the MCP layer sees anything. The principal rides in
the ASGI scope to the handlers (``access.FromHttpScope``), so revoking a key takes effect on the
next request.

The session manager runs stateless (no server-side session between requests), so any API
replica can serve any request behind a load balancer; the tools need no server-to-client calls.
Its task group lives in a task of its own (``running``): the app's lifespan may be entered and
left in different tasks (test harnesses do), which an anyio task group does not allow.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from ragaas.auth.dependencies import authenticate
from ragaas.auth.principal import Principal
from ragaas.errors import AppError, NotAuthenticated, ServiceUnavailable, problem
from ragaas.mcp.access import SCOPE_KEY, FromHttpScope
from ragaas.mcp.server import build_server
from ragaas.mcp.services import Services

PATH = "/mcp"
BODY_OVERHEAD = 64 * 1024


class McpEndpoint:
    """The ASGI app mounted at ``/mcp``; ``running(services)`` must wrap the app's lifetime."""

    def __init__(self) -> None:
        self._manager: StreamableHTTPSessionManager | None = None
        self._services: Services | None = None

    @contextlib.asynccontextmanager
    async def running(self, services: Services) -> AsyncIterator[None]:
        """Build the server over ``services`` and run its session manager until exit."""
        server, _ = build_server(services, FromHttpScope())
        # The returned Starlette app is not used: /mcp is routed by the API itself.
        server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            # ingest_text carries a whole document, JSON-escaped (which can inflate it).
            max_request_body_size=2 * services.settings.max_upload_bytes + BODY_OVERHEAD,
            # The SDK's Host/Origin allow-list (DNS-rebinding protection) defaults to localhost
            # only, which would refuse every request to a real host name. Every request here
            # needs a bearer credential, which a rebound browser page cannot attach.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = server.session_manager
        started, stop = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with manager.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(hold(), name="mcp-session-manager")
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set():
            waiter.cancel()
            await task  # raises why the manager could not start
        self._manager, self._services = manager, services
        try:
            yield
        finally:
            self._manager = self._services = None
            stop.set()
            await task

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager, services = self._manager, self._services
        try:
            if manager is None or services is None:
                raise ServiceUnavailable("the MCP server is starting or stopping; retry shortly")
            principal = await self._authenticate(scope, services)
        except AppError as exc:
            response = problem(exc.status_code, exc.title, exc.message, **exc.extra)
            await response(scope, receive, send)
            return
        await manager.handle_request({**scope, SCOPE_KEY: principal}, receive, send)

    @staticmethod
    async def _authenticate(scope: Scope, services: Services) -> Principal:
        header = Headers(scope=scope).get("authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise NotAuthenticated(
                "authentication required: send 'Authorization: Bearer <API key>'"
            )
        async with services.runtime.sessionmaker() as session:
            return await authenticate(session, services.jwt_secret, token.strip())
