"""Audit events for password logins, which happen before there is a principal."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from ragaas.audit.service import Actor, record
from ragaas.auth.schemas import LoginRequest
from ragaas.models import ActorKind, User


async def login_attempt(
    session: AsyncSession,
    body: LoginRequest,
    request: Request,
    succeeded: bool,
    retry_after: int | None = None,
) -> None:
    """Record ``auth.login``, ``auth.login_failed`` or (with ``retry_after``: refused unchecked
    by the brute-force guard) ``auth.login_throttled``, and commit it at once (a failed login has
    no other change to ride on). The password is never recorded.

    A failure is told to the organisation of the account it named, when exactly one matches;
    otherwise (an unknown e-mail) it is stored without an organisation, for operators.
    """
    stmt = select(User).where(User.email == body.email.strip().lower())
    if body.organization_id is not None:
        stmt = stmt.where(User.organization_id == body.organization_id)
    users = list((await session.scalars(stmt.limit(2))).all())
    user = users[0] if len(users) == 1 else None
    organization_id = user.organization_id if user is not None else None
    if succeeded and user is not None:
        actor = Actor(ActorKind.USER, organization_id, user.id)
    else:
        actor = Actor(ActorKind.ANONYMOUS, organization_id)
    details = {"email": body.email.strip().lower()}
    if not succeeded and user is not None and not user.active:
        details["reason"] = "user disabled"
    action = "auth.login" if succeeded else "auth.login_failed"
    if retry_after is not None:
        action, details["retry_after"] = "auth.login_throttled", str(retry_after)
    record(session, actor, action, "user", user.id if user else None, details, request)
    await session.commit()
