"""Building the MCP server: tools, document resources, prompts, and the access middleware."""

from __future__ import annotations

from mcp.server.caching import CacheHint
from mcp.server.mcpserver import MCPServer

from ragaas import __version__
from ragaas.mcp import prompts, resources
from ragaas.mcp.access import AccessGate, Callers, Toolbox
from ragaas.mcp.services import Services
from ragaas.mcp.tools import analytics, chains, data, retrieval

NAME = "ragaas"
INSTRUCTIONS = (
    "Ragaas is this organisation's knowledge base. Use `search` to find passages and `ask` for "
    "an answer with [n] citations; cite sources when you use them. Documents are also readable "
    "as resources (ragaas://documents/{id}). Which tools you see depends on the API key's scopes."
)
# What a caller sees depends on its credential: never share a cached listing across callers.
PRIVATE = CacheHint(ttl_ms=0, scope="private")


def build_server(services: Services, callers: Callers) -> tuple[MCPServer, Toolbox]:
    """The MCP server over ``services``; ``callers`` says who is calling (HTTP or stdio)."""
    server: MCPServer = MCPServer(
        NAME,
        title="Ragaas knowledge base",
        instructions=INSTRUCTIONS,
        version=__version__,
        cache_hints={
            "tools/list": PRIVATE,
            "resources/list": PRIVATE,
            "resources/templates/list": PRIVATE,
            "prompts/list": PRIVATE,
        },
    )
    box = Toolbox(server, services)
    for group in (retrieval, analytics, chains, data):
        group.register(box)
    resources.register(server, services)
    prompts.register(server)
    server.middleware.append(AccessGate(callers, box))
    server.middleware.append(resources.DocumentListing(services))
    return server, box
