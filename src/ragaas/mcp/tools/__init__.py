"""The MCP tools, one module per group; each ``register(box)`` adds its tools to the server."""
