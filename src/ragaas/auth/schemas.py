"""Login and token bodies."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=200)
    organization_id: uuid.UUID | None = Field(
        default=None, description="Needed only when the e-mail belongs to several organisations"
    )


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=4000)


class LogoutRequest(BaseModel):
    refresh_token: str = Field(max_length=4000)
    everywhere: bool = Field(
        default=False,
        description="Also end every other session of the user and refuse their access tokens",
    )


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int


class Me(BaseModel):
    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    permissions: list[str]
    api_key_id: uuid.UUID | None
