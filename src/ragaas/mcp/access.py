"""Who is calling, and which tools they may see and call.

Every MCP request is resolved to a ``Principal`` before it reaches a handler: over HTTP from the
bearer credential the ``/mcp`` endpoint already checked (``http.py``), over stdio by checking the
configured API key again (so a revoked key stops working mid-session). The principal's
permissions (an API key's scopes, capped by its user's role) decide which tools ``tools/list``
shows and which ``tools/call`` accepts; a call to a hidden tool is a JSON-RPC error naming the
scope it needs.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, INVALID_REQUEST, ToolAnnotations

from ragaas.auth.dependencies import authenticate
from ragaas.auth.permissions import Permission
from ragaas.auth.principal import Principal
from ragaas.errors import AppError
from ragaas.mcp.services import Services

F = TypeVar("F", bound=Callable[..., Any])

# The key under which the /mcp endpoint leaves the authenticated principal in the ASGI scope.
SCOPE_KEY = "ragaas.principal"
# Methods whose answer depends on the caller; everything else (initialize, ping) needs no lookup.
CALLER_METHODS = frozenset(
    {
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "prompts/list",
        "prompts/get",
    }
)
RESOURCE_PERMISSION = Permission.DATA_READ

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("ragaas_mcp_principal")


def current_principal() -> Principal:
    """The caller of the request being handled (set by ``AccessGate``)."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("no MCP caller: the AccessGate middleware is not installed") from None


class Callers(Protocol):
    """Resolves the principal behind one MCP request."""

    async def principal(self, ctx: ServerRequestContext[Any, Any]) -> Principal: ...


class FromHttpScope:
    """Over HTTP: the principal ``http.McpEndpoint`` authenticated for this very HTTP request."""

    async def principal(self, ctx: ServerRequestContext[Any, Any]) -> Principal:
        request = ctx.request
        found = getattr(request, "scope", {}).get(SCOPE_KEY) if request is not None else None
        if not isinstance(found, Principal):
            raise MCPError(code=INVALID_REQUEST, message="authentication required")
        return found


@dataclass
class FromApiKey:
    """Over stdio (or in-process): one configured API key, re-checked on every request."""

    services: Services
    api_key: str

    async def principal(self, ctx: ServerRequestContext[Any, Any]) -> Principal:
        return await self.check()

    async def check(self) -> Principal:
        """The key's principal; an MCP error when it is invalid, revoked or expired."""
        async with self.services.runtime.sessionmaker() as session:
            try:
                return await authenticate(session, self.services.jwt_secret, self.api_key)
            except AppError as exc:
                raise MCPError(code=INVALID_REQUEST, message=exc.message) from None


@dataclass
class Toolbox:
    """Registers tools on the server together with the permissions each one needs."""

    server: MCPServer
    services: Services
    needs: dict[str, frozenset[Permission]] = field(default_factory=dict)

    def tool(
        self,
        *permissions: Permission,
        title: str,
        read_only: bool = True,
        destructive: bool = False,
        open_world: bool = False,
    ) -> Callable[[F], F]:
        """Decorator: an MCP tool (name = function name) callable with all of ``permissions``."""

        def register(fn: F) -> F:
            annotations = ToolAnnotations(
                title=title,
                read_only_hint=read_only,
                destructive_hint=destructive,
                open_world_hint=open_world,
            )
            self.server.add_tool(fn, title=title, annotations=annotations, structured_output=True)
            self.needs[fn.__name__] = frozenset(permissions)
            return fn

        return register

    def missing(self, tool: str, principal: Principal) -> list[Permission]:
        """The permissions ``principal`` lacks for ``tool`` (empty: allowed, or unknown tool)."""
        return sorted(p for p in self.needs.get(tool, frozenset()) if not principal.can(p))


def scope_names(permissions: Iterable[Permission]) -> str:
    """``the 'data:write' scope`` or ``the 'data:read', 'query' scopes``."""
    names = [f"'{p.value}'" for p in permissions]
    return f"the {', '.join(names)} scope" + ("s" if len(names) > 1 else "")


@dataclass
class AccessGate:
    """Server middleware: resolves the caller, hides and refuses tools beyond its permissions."""

    callers: Callers
    toolbox: Toolbox

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method not in CALLER_METHODS:
            return await call_next(ctx)
        principal = await self.callers.principal(ctx)
        token = _current.set(principal)
        try:
            self._refuse_if_forbidden(ctx, principal)
            result = await call_next(ctx)
            if ctx.method == "tools/list" and isinstance(result, dict):
                result["tools"] = [
                    tool
                    for tool in result.get("tools", [])
                    if not self.toolbox.missing(str(tool.get("name")), principal)
                ]
            return result
        finally:
            _current.reset(token)

    def _refuse_if_forbidden(
        self, ctx: ServerRequestContext[Any, Any], principal: Principal
    ) -> None:
        params = ctx.params or {}
        if ctx.method == "tools/call":
            name = str(params.get("name", ""))
            lacking = self.toolbox.missing(name, principal)
            if lacking:
                raise MCPError(
                    code=INVALID_PARAMS,
                    message=f"tool '{name}' needs {scope_names(lacking)}, "
                    "which this API key does not have",
                    data={"tool": name, "required_scopes": [p.value for p in lacking]},
                )
        elif ctx.method == "resources/read" and not principal.can(RESOURCE_PERMISSION):
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"reading documents needs the '{RESOURCE_PERMISSION.value}' scope, "
                "which this API key does not have",
            )
