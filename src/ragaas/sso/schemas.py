"""Request and response bodies of /v1/sso/providers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator

from ragaas.auth.permissions import Role

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Domain = Annotated[str, Field(pattern=r"^@?[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$", max_length=253)]
DEFAULT_SCOPES = ["openid", "email", "profile"]


def _lower_keys(value: dict[str, Role] | None) -> dict[str, Role] | None:
    if value is None:
        return None
    return {group.strip().lower(): role for group, role in value.items() if group.strip()}


def _with_openid(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return ["openid", *(s for s in dict.fromkeys(value) if s != "openid")]


class ProviderFields(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    issuer: str | None = Field(
        default=None,
        max_length=500,
        description="The issuer URL; <issuer>/.well-known/openid-configuration is read.",
    )
    client_id: str | None = Field(default=None, min_length=1, max_length=500)
    client_secret: SecretStr | None = Field(
        default=None, description="Sealed at rest, shown masked; omit for a public client."
    )
    scopes: list[str] | None = Field(default=None, description="openid is always requested.")
    groups_claim: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The claim listing the user's groups; a dotted path reaches into objects "
        "(realm_access.roles).",
    )
    group_roles: dict[str, Role] | None = Field(
        default=None, description='Group → role, e.g. {"ragaas-admins": "admin"}.'
    )
    default_role: Role | None = Field(
        default=None, description="Role when no group is mapped; null: refuse such users."
    )
    allowed_domains: list[Domain] | None = Field(
        default=None, description="E-mail domains allowed to sign in; empty: any."
    )
    enabled: bool | None = None

    _groups = field_validator("group_roles")(_lower_keys)
    _scopes = field_validator("scopes")(_with_openid)


class ProviderCreate(ProviderFields):
    slug: Slug = Field(description="Names the login URL: /v1/auth/oidc/{slug}/login")
    name: str = Field(min_length=1, max_length=200)
    issuer: str = Field(max_length=500)
    client_id: str = Field(min_length=1, max_length=500)
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES))
    groups_claim: str = Field(default="groups", min_length=1, max_length=200)
    group_roles: dict[str, Role] = Field(default_factory=dict)
    allowed_domains: list[Domain] = Field(default_factory=list)
    enabled: bool = True


class ProviderUpdate(ProviderFields):
    """Only the fields sent change; send the masked secret back (or omit it) to keep it."""


class ProviderOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    issuer: str
    client_id: str
    client_secret: str | None = Field(description="Masked when set.")
    scopes: list[str]
    groups_claim: str
    group_roles: dict[str, str]
    default_role: str | None
    allowed_domains: list[str]
    enabled: bool
    login_url: str = Field(description="Where users start signing in (relative to the server).")
    redirect_uri: str = Field(description="Register this callback URL at the provider.")
    created_at: datetime
