"""FastAPI dependencies that authenticate the caller and enforce a permission."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth import api_keys
from ragaas.auth.permissions import Permission, permissions_for
from ragaas.auth.principal import Principal
from ragaas.auth.sessions import revoked_since
from ragaas.auth.tokens import Keys, decode_token
from ragaas.db import Session, SystemSession
from ragaas.errors import Forbidden, NotAuthenticated
from ragaas.models import ApiKey, User
from ragaas.tenancy.scope import scope_session

_bearer = HTTPBearer(auto_error=False, description="A JWT access token or an API key (rg_…)")
# Writing last_used_at on every request would turn reads into writes; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def authenticate(session: AsyncSession, keys: Keys, token: str) -> Principal:
    """Resolve a bearer credential (API key or JWT) to a principal."""
    if api_keys.split_prefix(token) is not None:
        return await _from_api_key(session, token)
    claims = decode_token(keys, token, "access")
    user = await session.get(User, claims.user_id)
    if user is None or not user.active or user.organization_id != claims.organization_id:
        raise NotAuthenticated("the user no longer exists or is disabled")
    if revoked_since(user, claims.issued_at):
        raise NotAuthenticated("the token has been revoked (password change or sign-out)")
    return Principal(user.id, user.organization_id, user.role, permissions_for(user.role))


async def _from_api_key(session: AsyncSession, token: str) -> Principal:
    prefix = api_keys.split_prefix(token)
    row = (
        await session.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.prefix == prefix)
        )
    ).first()
    if row is None or not api_keys.matches(token, row.ApiKey.key_hash):
        raise NotAuthenticated("invalid API key")
    key, user = row.ApiKey, row.User
    now = datetime.now(UTC)
    if key.revoked_at is not None:
        raise NotAuthenticated("the API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise NotAuthenticated("the API key has expired")
    if not user.active:
        raise NotAuthenticated("the key's user is disabled")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        await session.commit()
    # A key never grants more than its user's role does, even after a demotion.
    granted = permissions_for(user.role) & frozenset(Permission(s) for s in key.scopes)
    return Principal(user.id, user.organization_id, user.role, granted, api_key_id=key.id)


async def current_principal(
    request: Request,
    session: Session,
    system: SystemSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller (401 without valid credentials); the request's session is then
    scoped to the caller's organisation for row-level security."""
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("authentication required: send 'Authorization: Bearer <token>'")
    principal = await authenticate(system, request.app.state.jwt_keys, credentials.credentials)
    await scope_session(session, principal.organization_id)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that passes the principal through only if it holds ``permission``."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise Forbidden(f"this action needs the '{permission.value}' permission")
        return principal

    return check


OrgAdmin = Annotated[Principal, Depends(require(Permission.ORG_ADMIN))]
DataRead = Annotated[Principal, Depends(require(Permission.DATA_READ))]
DataWrite = Annotated[Principal, Depends(require(Permission.DATA_WRITE))]
QueryPrincipal = Annotated[Principal, Depends(require(Permission.QUERY))]
QueryReader = Annotated[Principal, Depends(require(Permission.QUERY_READ))]
RagConfigWriter = Annotated[Principal, Depends(require(Permission.RAG_CONFIG))]
RulesWriter = Annotated[Principal, Depends(require(Permission.RULES_WRITE))]
