"""/v1/users and /v1/api-keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from ragaas.admin import service
from ragaas.admin.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from ragaas.audit import changed, record
from ragaas.auth.dependencies import CurrentPrincipal, OrgAdmin
from ragaas.auth.passwords import check_password_policy
from ragaas.auth.sessions import revoke_user
from ragaas.db import Session
from ragaas.errors import Forbidden
from ragaas.models import User
from ragaas.openapi import problem_responses

router = APIRouter(prefix="/v1", tags=["admin"])


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    operation_id="users_create",
    responses=problem_responses(409),
)
async def create_user(
    body: UserCreate, request: Request, principal: OrgAdmin, session: Session
) -> UserOut:
    """Create a user in the caller's organisation (admins only)."""
    min_length = request.app.state.settings.password_min_length
    check_password_policy(body.password, body.email, min_length)
    user = await service.create_user(
        session, principal.organization_id, body.email, body.password, body.role, body.groups
    )
    details = {"email": user.email, "role": user.role, "groups": user.groups}
    record(session, principal, "user.create", "user", user.id, details, request)
    await session.commit()
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", operation_id="users_update")
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, request: Request, principal: OrgAdmin, session: Session
) -> UserOut:
    """Change a user's role, groups or active flag (admins only; not your own role)."""
    user = await service.UserRepository(session, principal.organization_id).get(user_id)
    if user.id == principal.user_id and body.role is not None and body.role.value != user.role:
        raise Forbidden("you cannot change your own role")
    if body.role is not None:
        user.role = body.role.value
    if body.groups is not None:
        user.groups = sorted(set(body.groups))
    if body.active is not None:
        if user.active and not body.active:
            await revoke_user(session, user)  # re-enabling must not revive old sessions
        user.active = body.active
    details: dict[str, object] = {"changed": changed(body), "role": user.role}
    details |= {"groups": user.groups, "active": user.active}
    record(session, principal, "user.update", "user", user.id, details, request)
    await session.commit()
    return UserOut.model_validate(user)


@router.get("/users", operation_id="users_list")
async def list_users(principal: OrgAdmin, session: Session) -> list[UserOut]:
    """List the organisation's users (admins only)."""
    repo = service.UserRepository(session, principal.organization_id)
    users = await session.scalars(repo.base().order_by(User.created_at))
    return [UserOut.model_validate(u) for u in users]


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, operation_id="api_keys_create")
async def create_key(
    body: ApiKeyCreate, request: Request, principal: CurrentPrincipal, session: Session
) -> ApiKeyCreated:
    """Create an API key for yourself, with at most your own permissions; shown once."""
    user = await service.UserRepository(session, principal.organization_id).get(principal.user_id)
    if principal.api_key_id is not None and not principal.permissions >= set(body.scopes):
        raise Forbidden("an API key cannot mint a key with more scopes than its own")
    key, plaintext = await service.create_api_key(
        session, user, body.name, frozenset(body.scopes), body.expires_at
    )
    details = {"name": key.name, "prefix": key.prefix, "scopes": sorted(key.scopes)}
    record(session, principal, "api_key.create", "api_key", key.id, details, request)
    await session.commit()
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plaintext)


@router.get("/api-keys", operation_id="api_keys_list")
async def list_keys(principal: CurrentPrincipal, session: Session) -> list[ApiKeyOut]:
    """Your API keys (all of the organisation's, for an admin)."""
    return [ApiKeyOut.model_validate(k) for k in await service.list_keys(session, principal)]


@router.delete("/api-keys/{key_id}", operation_id="api_keys_revoke")
async def revoke_key(
    key_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: Session
) -> ApiKeyOut:
    """Revoke an API key; it stops working at once."""
    key = await service.revoke_key(session, principal, key_id)
    details = {"name": key.name, "prefix": key.prefix, "owner": key.user_id}
    record(session, principal, "api_key.revoke", "api_key", key.id, details, request)
    await session.commit()
    return ApiKeyOut.model_validate(key)
