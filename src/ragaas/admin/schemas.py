"""Request and response bodies for users and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ragaas.auth.permissions import Permission, Role

Group = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]


class UserCreate(BaseModel):
    # A plain shape check: internal domains (corp.local) are legitimate on self-hosted installs.
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    password: str = Field(min_length=8, max_length=200)
    role: Role = Role.VIEWER
    groups: list[Group] = Field(default_factory=list, description="e.g. hr: seen by rules")


class UserUpdate(BaseModel):
    role: Role | None = None
    groups: list[Group] | None = None
    active: bool | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    name: str | None = Field(default=None, description="Display name, from single sign-on")
    role: str
    groups: list[str]
    active: bool
    created_at: datetime


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Permission] = Field(min_length=1)
    expires_at: datetime | None = None


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown once, never retrievable again")


class Bootstrapped(BaseModel):
    organization_id: uuid.UUID
    user_id: uuid.UUID
    api_key: str
