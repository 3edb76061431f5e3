"""One tool call: the caller, a database session, and errors turned into tool errors.

Tools raise the same ``AppError``s as the REST API (404 for another organisation's document,
422 for a bad label, 413 for a large upload...). The model calling the tool should read those
messages, so they become ``ToolError``s (an ``is_error`` result carrying the message); anything
unexpected stays a generic error and its details stay in the server log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth.principal import Principal
from ragaas.errors import AppError
from ragaas.mcp.access import current_principal
from ragaas.mcp.services import Services
from ragaas.providers.llm.base import LLMError
from ragaas.quotas.service import Defaults, check_query


@dataclass(frozen=True)
class Call:
    principal: Principal
    session: AsyncSession
    services: Services


@asynccontextmanager
async def tool_call(services: Services, *, metered: bool = False) -> AsyncIterator[Call]:
    """The context a tool body runs in (commit explicitly; an exception rolls back).
    ``metered``: the tool answers queries, refused past the organisation's daily quota."""
    principal = current_principal()
    try:
        async with services.runtime.tenant_session(principal.organization_id) as session:
            if metered:
                quota = Defaults.of(services.settings)
                await check_query(
                    session, principal.organization_id, quota, principal.settings_generation
                )
            yield Call(principal, session, services)
    except AppError as exc:
        raise ToolError(exc.message) from None
    except LLMError as exc:
        raise ToolError(f"the language model failed: {exc.message}") from None
