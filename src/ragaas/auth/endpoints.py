"""/v1/auth: login, refresh, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ragaas.audit import logins
from ragaas.auth import service
from ragaas.auth.dependencies import CurrentPrincipal
from ragaas.auth.schemas import LoginRequest, Me, RefreshRequest, TokenPair
from ragaas.auth.throttle import LoginThrottle, LoginThrottled
from ragaas.db import Session
from ragaas.errors import NotAuthenticated
from ragaas.openapi import problem_responses

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/login", operation_id="auth_login", responses=problem_responses(401))
async def login(body: LoginRequest, request: Request, session: Session) -> TokenPair:
    """Exchange e-mail and password for an access and a refresh token."""
    state = request.app.state
    address = request.client.host if request.client else None
    link = getattr(state.runtime, "redis", None)
    guard = LoginThrottle(session, state.settings, link, body.email, address)
    try:
        await guard.check()
    except LoginThrottled as exc:
        retry = int(exc.headers["Retry-After"]) if exc.headers else 1
        await logins.login_attempt(session, body, request, succeeded=False, retry_after=retry)
        raise
    try:
        pair = await service.login(session, state.settings, state.jwt_secret, body)
    except NotAuthenticated:
        await guard.failed()
        await logins.login_attempt(session, body, request, succeeded=False)
        raise
    await guard.succeeded()
    await logins.login_attempt(session, body, request, succeeded=True)
    return pair


@router.post("/refresh", operation_id="auth_refresh", responses=problem_responses(401))
async def refresh(body: RefreshRequest, request: Request, session: Session) -> TokenPair:
    """Exchange a refresh token for a new token pair."""
    state = request.app.state
    return await service.refresh(session, state.settings, state.jwt_secret, body.refresh_token)


@router.get("/me", operation_id="auth_me")
async def me(principal: CurrentPrincipal) -> Me:
    """The authenticated caller, their organisation and permissions."""
    return Me(
        user_id=principal.user_id,
        organization_id=principal.organization_id,
        role=principal.role,
        permissions=sorted(p.value for p in principal.permissions),
        api_key_id=principal.api_key_id,
    )
