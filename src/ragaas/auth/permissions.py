"""Roles, the permissions each grants, and the scopes an API key may carry."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    ORG_ADMIN = "org:admin"  # users, roles, API keys
    DATA_READ = "data:read"  # list and read documents and sources
    DATA_WRITE = "data:write"  # ingest, delete, sync
    QUERY = "query"  # search and chat
    QUERY_READ = "query:read"  # query history and analytics
    RAG_CONFIG = "rag:config"  # named RAG configurations
    RULES_WRITE = "rules:write"  # rules and guardrails


class Role(StrEnum):
    ADMIN = "admin"
    DEVELOPER = "developer"
    ANALYST = "analyst"
    VIEWER = "viewer"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.DEVELOPER: frozenset(
        {
            Permission.DATA_READ,
            Permission.DATA_WRITE,
            Permission.QUERY,
            Permission.QUERY_READ,
            Permission.RAG_CONFIG,
            Permission.RULES_WRITE,
        }
    ),
    Role.ANALYST: frozenset({Permission.DATA_READ, Permission.QUERY, Permission.QUERY_READ}),
    Role.VIEWER: frozenset({Permission.DATA_READ, Permission.QUERY}),
}


def permissions_for(role: str) -> frozenset[Permission]:
    """The permission set of a role name (empty for an unknown role)."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()


def parse_scopes(scopes: list[str]) -> frozenset[Permission]:
    """Validate scope names; raises ValueError naming the first unknown one."""
    result: set[Permission] = set()
    for scope in scopes:
        try:
            result.add(Permission(scope))
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise ValueError(f"unknown scope {scope!r}; known scopes: {known}") from None
    return frozenset(result)
