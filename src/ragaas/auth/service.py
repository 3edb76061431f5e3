"""Login with e-mail and password, and refresh, returning JWT pairs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth.passwords import verify_password
from ragaas.auth.schemas import LoginRequest, TokenPair
from ragaas.auth.tokens import decode_token, issue_token
from ragaas.errors import AppError, NotAuthenticated
from ragaas.models import User
from ragaas.settings import Settings


def token_pair(settings: Settings, secret: str, user: User) -> TokenPair:
    """A fresh access + refresh token for the user."""
    access_ttl = timedelta(minutes=settings.access_token_minutes)
    return TokenPair(
        access_token=issue_token(secret, user.id, user.organization_id, "access", access_ttl),
        refresh_token=issue_token(
            secret,
            user.id,
            user.organization_id,
            "refresh",
            timedelta(days=settings.refresh_token_days),
        ),
        expires_in=int(access_ttl.total_seconds()),
    )


async def login(
    session: AsyncSession, settings: Settings, secret: str, body: LoginRequest
) -> TokenPair:
    """Check the password; 401 with one message for any wrong e-mail/password pair."""
    stmt = select(User).where(User.email == body.email.strip().lower(), User.active.is_(True))
    if body.organization_id is not None:
        stmt = stmt.where(User.organization_id == body.organization_id)
    candidates = list((await session.scalars(stmt)).all())
    if len(candidates) > 1:
        raise AppError("this e-mail belongs to several organisations: send organization_id")
    user = candidates[0] if candidates else None
    if not verify_password(user.password_hash if user else None, body.password) or user is None:
        raise NotAuthenticated("wrong e-mail or password")
    return token_pair(settings, secret, user)


async def refresh(
    session: AsyncSession, settings: Settings, secret: str, refresh_token: str
) -> TokenPair:
    """Exchange a valid refresh token for a new pair."""
    claims = decode_token(secret, refresh_token, "refresh")
    user = await session.get(User, claims.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("the user no longer exists or is disabled")
    return token_pair(settings, secret, user)
