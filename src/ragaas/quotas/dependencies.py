"""The dependency that admits a query only within the organisation's daily quota."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ragaas.auth.dependencies import QueryPrincipal
from ragaas.auth.principal import Principal
from ragaas.db import Session
from ragaas.quotas.service import Defaults, check_query


async def within_query_quota(
    principal: QueryPrincipal, request: Request, session: Session
) -> Principal:
    """The caller, if it may query and its organisation has queries left today."""
    defaults = Defaults.of(request.app.state.settings)
    await check_query(session, principal.organization_id, defaults, principal.settings_generation)
    return principal


# Search, chat and OpenAI chat completions: each answered query is one of the day's.
MeteredQuery = Annotated[Principal, Depends(within_query_quota)]
