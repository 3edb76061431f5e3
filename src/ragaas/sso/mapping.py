"""From a provider's claims to a Ragaas user: e-mail, name, groups and role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragaas.auth.permissions import Role
from ragaas.errors import Forbidden, NotAuthenticated
from ragaas.models import SsoProvider

# Most to least privileged: a user in several mapped groups gets the strongest role.
ROLE_ORDER = (Role.ADMIN, Role.DEVELOPER, Role.ANALYST, Role.VIEWER)
MAX_GROUP_LENGTH = 100  # users.groups holds varchar(100)
MAX_EMAIL_LENGTH = 320  # users.email
MAX_SUBJECT_LENGTH = 255  # OIDC Core §2: sub is at most 255 ASCII characters


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str
    name: str | None
    groups: list[str]
    role: Role


def groups_of(claims: dict[str, Any], claim: str) -> list[str] | None:
    """The groups under ``claim`` (a dotted path reaches into objects: realm_access.roles),
    lower-cased; None when the claim is absent."""
    value: Any = claims
    for part in claim.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    groups = {str(g).strip().lower() for g in items if isinstance(g, str | int) and str(g).strip()}
    return sorted(g for g in groups if len(g) <= MAX_GROUP_LENGTH)


def role_for(provider: SsoProvider, groups: list[str]) -> Role:
    """The strongest role a group maps to, else the default role; 403 when neither exists."""
    mapped = {Role(provider.group_roles[g]) for g in groups if g in provider.group_roles}
    for role in ROLE_ORDER:
        if role in mapped:
            return role
    if provider.default_role is not None:
        return Role(provider.default_role)
    raise Forbidden("none of your groups at the identity provider is allowed to use Ragaas")


def identity(provider: SsoProvider, claims: dict[str, Any]) -> Identity:
    """The user the claims describe, checked against the provider's rules."""
    subject = str(claims["sub"])
    if not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise NotAuthenticated("the ID token's subject (sub) is empty or too long")
    email = str(claims.get("email") or "").strip().lower()
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH:
        raise NotAuthenticated(
            "the identity provider sent no usable e-mail address (scope 'email'?)"
        )
    if claims.get("email_verified") is False:
        raise Forbidden(f"the identity provider has not verified {email}")
    domain = email.rsplit("@", 1)[1]
    if provider.allowed_domains and domain not in provider.allowed_domains:
        raise Forbidden(f"e-mail domain {domain} may not sign in to this organisation")
    groups = groups_of(claims, provider.groups_claim) or []
    name = claims.get("name") or " ".join(
        str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)
    )
    return Identity(
        subject=subject,
        email=email,
        name=str(name)[:200] or None,
        groups=groups,
        role=role_for(provider, groups),
    )
