"""The Model Context Protocol server: Ragaas's search, answers, analytics and data operations as
MCP tools, its documents as resources, over streamable HTTP (``/mcp``) or stdio (``ragaas mcp``)."""
