"""From claims to a user: groups (dotted claims, case), the strongest mapped role, the default
role or a refusal, e-mail rules, and limits that keep bad claims out of the database."""

from __future__ import annotations

from typing import Any

import pytest

from ragaas.auth.permissions import Role
from ragaas.errors import Forbidden, NotAuthenticated
from ragaas.models import SsoProvider
from ragaas.sso.mapping import groups_of, identity, role_for


def _provider(**changes: Any) -> SsoProvider:
    fields: dict[str, Any] = {
        "groups_claim": "groups",
        "group_roles": {"admins": "admin", "devs": "developer", "staff": "viewer"},
        "default_role": None,
        "allowed_domains": [],
    }
    return SsoProvider(**(fields | changes))


def test_groups_from_lists_strings_and_dotted_paths() -> None:
    assert groups_of({"groups": ["Admins", " staff ", 7, None]}, "groups") == [
        "7",
        "admins",
        "staff",
    ]
    assert groups_of({"groups": "Staff"}, "groups") == ["staff"]
    keycloak = {"realm_access": {"roles": ["devs", "offline_access"]}}
    assert groups_of(keycloak, "realm_access.roles") == ["devs", "offline_access"]
    assert groups_of({"realm_access": {}}, "realm_access.roles") is None
    assert groups_of({}, "groups") is None
    assert groups_of({"groups": ["x" * 101, "ok"]}, "groups") == ["ok"]


def test_the_strongest_mapped_role_wins_else_the_default_else_403() -> None:
    provider = _provider()
    assert role_for(provider, ["staff", "devs"]) is Role.DEVELOPER
    assert role_for(provider, ["staff", "admins", "devs"]) is Role.ADMIN
    with pytest.raises(Forbidden, match="none of your groups"):
        role_for(provider, ["contractors"])
    assert role_for(_provider(default_role="analyst"), ["contractors"]) is Role.ANALYST


def test_identity_checks_email_domain_and_limits() -> None:
    provider = _provider(allowed_domains=["corp.test"], default_role="viewer")
    who = identity(
        provider, {"sub": "s1", "email": "A@Corp.Test", "given_name": "A", "family_name": "B"}
    )
    assert (who.email, who.name, who.role, who.groups) == ("a@corp.test", "A B", Role.VIEWER, [])
    with pytest.raises(Forbidden, match=r"domain other\.test"):
        identity(provider, {"sub": "s1", "email": "a@other.test"})
    with pytest.raises(Forbidden, match="not verified"):
        identity(provider, {"sub": "s1", "email": "a@corp.test", "email_verified": False})
    with pytest.raises(NotAuthenticated, match="e-mail"):
        identity(provider, {"sub": "s1"})
    with pytest.raises(NotAuthenticated, match="e-mail"):
        identity(provider, {"sub": "s1", "email": "a" * 320 + "@corp.test"})
    with pytest.raises(NotAuthenticated, match="sub"):
        identity(provider, {"sub": "s" * 256, "email": "a@corp.test"})
