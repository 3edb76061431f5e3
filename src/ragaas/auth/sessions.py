"""Refresh-token rotation: each refresh returns a new refresh token and retires the old one.

Every refresh token is a row (its JWT id) in a *family*: the chain descending from one sign-in.
Presenting a retired token again means two parties hold the chain (a stolen token), so the
whole family is revoked and both must sign in again. Logout revokes a family; a password change,
disabling the user or "sign out everywhere" revoke all of a user's families and, through
``users.tokens_revoked_at``, their access tokens.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth.schemas import TokenPair
from ragaas.auth.tokens import Keys, TokenClaims, decode_token, issue_token
from ragaas.errors import NotAuthenticated
from ragaas.models import RefreshToken, User
from ragaas.settings import Settings


class RefreshTokenReused(NotAuthenticated):
    """A retired refresh token came back: its family has been revoked (commit, then raise)."""

    def __init__(self, user_id: uuid.UUID, organization_id: uuid.UUID) -> None:
        super().__init__(
            "this refresh token was already used: every session of this sign-in has been "
            "revoked; sign in again"
        )
        self.user_id, self.organization_id = user_id, organization_id


async def token_pair(
    session: AsyncSession,
    settings: Settings,
    keys: Keys,
    user: User,
    family: uuid.UUID | None = None,
) -> TokenPair:
    """A fresh access + refresh token for the user; the refresh token is recorded (flushed)."""
    access_ttl = timedelta(minutes=settings.access_token_minutes)
    refresh_ttl = timedelta(days=settings.refresh_token_days)
    jti, family = uuid.uuid4(), family or uuid.uuid4()
    session.add(
        RefreshToken(
            id=jti,
            organization_id=user.organization_id,
            user_id=user.id,
            family_id=family,
            expires_at=datetime.now(UTC) + refresh_ttl,
        )
    )
    await session.flush()
    refresh = issue_token(
        keys, user.id, user.organization_id, "refresh", refresh_ttl, jti=jti.hex, family=family.hex
    )
    return TokenPair(
        access_token=issue_token(keys, user.id, user.organization_id, "access", access_ttl),
        refresh_token=refresh,
        expires_in=int(access_ttl.total_seconds()),
    )


async def rotate(
    session: AsyncSession, settings: Settings, keys: Keys, refresh_token: str
) -> TokenPair:
    """Exchange a refresh token for a new pair of the same family; retire the old one."""
    claims = decode_token(keys, refresh_token, "refresh")
    row = await _row(session, claims, lock=True)
    if row.revoked_at is not None:
        raise NotAuthenticated("the refresh token has been revoked; sign in again")
    if row.used_at is not None:
        await revoke_family(session, row.family_id)
        raise RefreshTokenReused(row.user_id, row.organization_id)
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("the user no longer exists or is disabled")
    if revoked_since(user.tokens_revoked_at, claims.issued_at):
        raise NotAuthenticated("the refresh token has been revoked; sign in again")
    row.used_at = datetime.now(UTC)
    return await token_pair(session, settings, keys, user, row.family_id)


async def logout(session: AsyncSession, keys: Keys, refresh_token: str, everywhere: bool) -> User:
    """Revoke the refresh token's sign-in (or, ``everywhere``, all the user's tokens)."""
    claims = decode_token(keys, refresh_token, "refresh")
    row = await _row(session, claims, lock=False)
    user = await session.get(User, row.user_id)
    if user is None:
        raise NotAuthenticated("the user no longer exists")
    if everywhere:
        await revoke_user(session, user)
    else:
        await revoke_family(session, row.family_id)
    return user


async def _row(session: AsyncSession, claims: TokenClaims, *, lock: bool) -> RefreshToken:
    try:
        jti = uuid.UUID(hex=claims.jti or "")
    except ValueError:
        raise NotAuthenticated("the refresh token is invalid") from None
    stmt = select(RefreshToken).where(RefreshToken.id == jti)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None or row.user_id != claims.user_id:
        raise NotAuthenticated("the refresh token is not known; sign in again")
    return row


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    """Revoke every token of one sign-in."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def revoke_user(session: AsyncSession, user: User) -> None:
    """Revoke all the user's refresh tokens and every token issued to them until now."""
    now = datetime.now(UTC)
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    user.tokens_revoked_at = now
    await session.flush()


def revoked_since(tokens_revoked_at: datetime | None, issued_at: float) -> bool:
    """Whether a token issued at ``issued_at`` predates the user's last revocation."""
    return tokens_revoked_at is not None and issued_at < tokens_revoked_at.timestamp()
