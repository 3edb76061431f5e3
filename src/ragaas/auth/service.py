"""Login with e-mail and password, and password changes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth.passwords import check_password_policy, hash_password, verify_password
from ragaas.auth.schemas import LoginRequest, TokenPair
from ragaas.auth.sessions import revoke_user, token_pair
from ragaas.auth.tokens import Keys
from ragaas.errors import AppError, Forbidden, NotAuthenticated
from ragaas.models import User
from ragaas.settings import Settings


async def login(
    session: AsyncSession, settings: Settings, keys: Keys, body: LoginRequest
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
    return await token_pair(session, settings, keys, user)


async def change_password(
    session: AsyncSession, settings: Settings, user: User, current: str, new: str
) -> None:
    """Check the current password and the policy, store the new one and revoke every token
    issued to the user so far (other devices must sign in again)."""
    if not verify_password(user.password_hash, current):
        raise Forbidden("the current password is wrong")
    check_password_policy(new, user.email, settings.password_min_length)
    user.password_hash = hash_password(new)
    await revoke_user(session, user)
