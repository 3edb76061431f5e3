"""/v1/auth: login, refresh, logout, password change, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.audit import Actor, logins, record
from ragaas.auth import service, sessions
from ragaas.auth.dependencies import CurrentPrincipal
from ragaas.auth.schemas import (
    LoginRequest,
    LogoutRequest,
    Me,
    PasswordChange,
    RefreshRequest,
    TokenPair,
)
from ragaas.auth.throttle import LoginThrottle, LoginThrottled
from ragaas.db import Session, SystemSession
from ragaas.errors import Forbidden, NotAuthenticated
from ragaas.models import ActorKind, User
from ragaas.openapi import problem_responses

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/login", operation_id="auth_login", responses=problem_responses(401))
async def login(body: LoginRequest, request: Request, session: SystemSession) -> TokenPair:
    """Exchange e-mail and password for an access and a refresh token."""
    state = request.app.state
    guard = _throttle(request, session, body.email)
    try:
        await guard.check()
    except LoginThrottled as exc:
        retry = int(exc.headers["Retry-After"]) if exc.headers else 1
        await logins.login_attempt(session, body, request, succeeded=False, retry_after=retry)
        raise
    try:
        pair = await service.login(session, state.settings, state.jwt_keys, body)
    except NotAuthenticated:
        await guard.failed()
        await logins.login_attempt(session, body, request, succeeded=False)
        raise
    await guard.succeeded()
    await logins.login_attempt(session, body, request, succeeded=True)
    return pair


@router.post("/refresh", operation_id="auth_refresh", responses=problem_responses(401))
async def refresh(body: RefreshRequest, request: Request, session: SystemSession) -> TokenPair:
    """Exchange a refresh token for a new pair; the old refresh token stops working, and using
    it again revokes every token of its sign-in (theft detection)."""
    state = request.app.state
    try:
        pair = await sessions.rotate(session, state.settings, state.jwt_keys, body.refresh_token)
    except sessions.RefreshTokenReused as exc:
        actor = Actor(ActorKind.USER, exc.organization_id, exc.user_id)
        record(session, actor, "auth.refresh_reused", "user", exc.user_id, None, request)
        await session.commit()  # the family's revocation stands, whatever is raised
        raise
    await session.commit()
    return pair


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_logout",
    responses=problem_responses(401),
)
async def logout(body: LogoutRequest, request: Request, session: SystemSession) -> None:
    """End the refresh token's session (``everywhere``: all the user's sessions and tokens)."""
    user = await sessions.logout(
        session, request.app.state.jwt_keys, body.refresh_token, body.everywhere
    )
    actor = Actor(ActorKind.USER, user.organization_id, user.id)
    details = {"everywhere": body.everywhere}
    record(session, actor, "auth.logout", "user", user.id, details, request)
    await session.commit()


@router.post(
    "/password", operation_id="auth_change_password", responses=problem_responses(401, 403)
)
async def change_password(
    body: PasswordChange, request: Request, principal: CurrentPrincipal, session: Session
) -> TokenPair:
    """Change your password; every other session and token ends, a new pair is returned."""
    state = request.app.state
    user = await session.get(User, principal.user_id)
    if user is None:
        raise NotAuthenticated("the user no longer exists")
    # A stolen access token must not become a way to guess the password: wrong current
    # passwords count as failed logins of the account, and its backoff applies here too.
    guard = _throttle(request, session, user.email)
    await guard.check()
    try:
        await service.change_password(
            session, state.settings, user, body.current_password, body.new_password
        )
    except Forbidden:
        await guard.failed()
        await session.commit()
        raise
    pair = await sessions.token_pair(session, state.settings, state.jwt_keys, user)
    record(session, principal, "auth.password_change", "user", user.id, None, request)
    await session.commit()
    return pair


def _throttle(request: Request, session: AsyncSession, email: str) -> LoginThrottle:
    state = request.app.state
    address = request.client.host if request.client else None
    link = getattr(state.runtime, "redis", None)
    return LoginThrottle(session, state.settings, link, email, address)


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
