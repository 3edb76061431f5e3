"""Organisations, users and API keys: creation and listing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth import api_keys
from ragaas.auth.passwords import hash_password
from ragaas.auth.permissions import Permission, Role, permissions_for
from ragaas.auth.principal import Principal
from ragaas.errors import Conflict, Forbidden, Unprocessable
from ragaas.models import ApiKey, Organization, User
from ragaas.tenancy.repository import OrgRepository


class UserRepository(OrgRepository[User]):
    model = User
    noun = "user"


class ApiKeyRepository(OrgRepository[ApiKey]):
    model = ApiKey
    noun = "API key"


async def create_organization(session: AsyncSession, name: str) -> Organization:
    """A new organisation; 409 if the name is taken."""
    taken = await session.scalar(select(Organization.id).where(Organization.name == name))
    if taken is not None:
        raise Conflict(f"an organisation named {name!r} already exists")
    org = Organization(name=name)
    session.add(org)
    await session.flush()
    return org


async def create_user(
    session: AsyncSession,
    organization_id: uuid.UUID,
    email: str,
    password: str,
    role: Role,
    groups: list[str] | None = None,
) -> User:
    """A new user in the organisation; 409 if the e-mail is taken there."""
    email = email.strip().lower()
    repo = UserRepository(session, organization_id)
    if await session.scalar(repo.base().where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} already exists in this organisation")
    user = repo.add(
        User(
            email=email,
            password_hash=hash_password(password),
            role=role.value,
            groups=sorted(set(groups or [])),
        )
    )
    await session.flush()
    return user


async def create_api_key(
    session: AsyncSession,
    user: User,
    name: str,
    scopes: frozenset[Permission],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``user`` limited to ``scopes``; returns the row and the plaintext once."""
    excess = scopes - permissions_for(user.role)
    if excess:
        names = ", ".join(sorted(p.value for p in excess))
        raise Forbidden(f"a {user.role} cannot grant scopes they do not hold: {names}")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Unprocessable("expires_at must be in the future")
    new = api_keys.generate_key()
    key = ApiKey(
        organization_id=user.organization_id,
        user_id=user.id,
        name=name,
        prefix=new.prefix,
        key_hash=new.key_hash,
        scopes=sorted(p.value for p in scopes),
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return key, new.plaintext


async def bootstrap(
    session: AsyncSession, org_name: str, email: str, password: str
) -> tuple[Organization, User, str]:
    """An organisation, its admin user and an all-scopes API key for them."""
    org = await create_organization(session, org_name)
    user = await create_user(session, org.id, email, password, Role.ADMIN)
    _, plaintext = await create_api_key(session, user, "bootstrap", frozenset(Permission))
    return org, user, plaintext


async def list_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    """Keys visible to the caller: all of the organisation's for an admin, else their own."""
    stmt = ApiKeyRepository(session, principal.organization_id).base()
    if not principal.can(Permission.ORG_ADMIN):
        stmt = stmt.where(ApiKey.user_id == principal.user_id)
    keys: list[ApiKey] = list((await session.scalars(stmt.order_by(ApiKey.created_at))).all())
    return keys


async def revoke_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key the caller owns (or any key of the organisation, for an admin)."""
    key = await ApiKeyRepository(session, principal.organization_id).get(key_id)
    if key.user_id != principal.user_id and not principal.can(Permission.ORG_ADMIN):
        raise Forbidden("only an admin can revoke another user's key")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
    await session.flush()
    return key


async def count_organizations(session: AsyncSession) -> int:
    """How many organisations exist (the demo seed runs only when there are none)."""
    return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)
