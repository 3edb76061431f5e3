"""FastAPI dependencies that authenticate the caller and enforce a permission."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth import api_keys
from ragaas.auth.permissions import Permission, permissions_for
from ragaas.auth.principal import Principal
from ragaas.auth.sessions import revoked_since
from ragaas.auth.tokens import Keys, decode_token
from ragaas.db import Session
from ragaas.errors import Forbidden, NotAuthenticated
from ragaas.models import ApiKey
from ragaas.tenancy.scope import scope_session

_bearer = HTTPBearer(auto_error=False, description="A JWT access token or an API key (rg_…)")
# Writing last_used_at on every request would turn reads into writes; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


_KEY_LOOKUP = text("SELECT * FROM ragaas_authenticate_key(:prefix, :key_hash)")
_USER_LOOKUP = text("SELECT * FROM ragaas_authenticate_user(:user_id, :org, :issued_at)")


async def authenticate(session: AsyncSession, keys: Keys, token: str) -> Principal:
    """Resolve a bearer credential (API key or JWT) to a principal.

    One statement on ``session``'s own connection (migration 0012's lookups, which also declare
    the organisation for row-level security when the credential is valid); the caller then
    scopes the session with ``scope_session(..., declared=True)``.
    """
    if api_keys.split_prefix(token) is not None:
        return await _from_api_key(session, token)
    claims = decode_token(keys, token, "access")
    issued_at = datetime.fromtimestamp(claims.issued_at, UTC)  # the lookup compares it too
    params = {"user_id": claims.user_id, "org": claims.organization_id, "issued_at": issued_at}
    user = (await session.execute(_USER_LOOKUP, params)).first()
    if user is None or not user.active:
        raise NotAuthenticated("the user no longer exists or is disabled")
    if revoked_since(user.tokens_revoked_at, claims.issued_at):
        raise NotAuthenticated("the token has been revoked (password change or sign-out)")
    return Principal(
        user.user_id,
        user.organization_id,
        user.role,
        permissions_for(user.role),
        email=user.email,
        groups=tuple(user.groups or ()),
        settings_generation=user.settings_generation,
    )


async def _from_api_key(session: AsyncSession, token: str) -> Principal:
    params = {"prefix": api_keys.split_prefix(token), "key_hash": api_keys.hash_key(token)}
    key = (await session.execute(_KEY_LOOKUP, params)).first()
    if key is None:
        raise NotAuthenticated("invalid API key")
    now = datetime.now(UTC)
    if key.revoked_at is not None:
        raise NotAuthenticated("the API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise NotAuthenticated("the API key has expired")
    if not key.active:
        raise NotAuthenticated("the key's user is disabled")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # The key's organisation is declared by now: the update passes row-level security.
        await session.execute(
            update(ApiKey).where(ApiKey.id == key.key_id).values(last_used_at=now)
        )
        await session.commit()
    # A key never grants more than its user's role does, even after a demotion.
    granted = permissions_for(key.role) & frozenset(Permission(s) for s in key.scopes)
    return Principal(
        key.user_id,
        key.organization_id,
        key.role,
        granted,
        api_key_id=key.key_id,
        email=key.email,
        groups=tuple(key.groups or ()),
        settings_generation=key.settings_generation,
    )


async def current_principal(
    request: Request,
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller (401 without valid credentials); the request's session is then
    scoped to the caller's organisation for row-level security."""
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("authentication required: send 'Authorization: Bearer <token>'")
    principal = await authenticate(session, request.app.state.jwt_keys, credentials.credentials)
    await scope_session(session, principal.organization_id, declared=True)
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
