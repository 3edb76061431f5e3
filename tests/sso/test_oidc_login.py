"""Signing in with OpenID Connect against a real provider: the redirect dance, group → role
mapping re-applied at each login, PKCE, state, nonce, aud/iss/signature checks, the provider's
rules (enabled, domains, deny when unmapped), tenant isolation, and passwords beside SSO."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from ragaas.errors import NotAuthenticated
from ragaas.models import AuditEvent, User
from ragaas.runtime import Runtime
from ragaas.security.egress import EgressPolicy
from ragaas.settings import Settings
from ragaas.sso import oidc
from tests.conftest import free_port, serve_in_thread
from tests.sso.conftest import (
    CALLBACK,
    SsoOrg,
    SsoOrgFactory,
    at_provider,
    bearer,
    sign_in,
    start_login,
)
from tests.sso.provider import Idp, running_idp, s256

PROBLEM = "application/problem+json"


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def me(browser: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await browser.get("/v1/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def user_named(runtime: Runtime, organization_id: uuid.UUID, email: str) -> User | None:
    async with runtime.sessionmaker() as session:
        user: User | None = await session.scalar(
            select(User).where(User.organization_id == organization_id, User.email == email)
        )
        return user


async def audit_actions(runtime: Runtime, organization_id: uuid.UUID | None) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.organization_id == organization_id)
            .where(AuditEvent.action.like("auth.sso%"))
            .order_by(AuditEvent.occurred_at)
        )
        return list(rows)


def problem(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert fragment in response.json()["detail"], response.json()["detail"]


# --- the happy path ---------------------------------------------------------------------------


async def test_groups_map_to_roles_and_users_are_created_without_a_password(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg, runtime: Runtime
) -> None:
    idp.set_user("alice-1", email="Alice@Corp.test", name="Alice Admin", groups=["ragaas-admins"])
    idp.set_user("bob-1", email="bob@corp.test", name="Bob", groups=["STAFF", "other"])
    alice = await sign_in(browser, sso_org.slug, "alice-1")
    assert alice.status_code == 200, alice.text
    assert alice.headers["cache-control"] == "no-store"
    alice_me = await me(browser, bearer(alice))
    assert alice_me["role"] == "admin"
    assert alice_me["organization_id"] == str(sso_org.tenant.organization_id)
    assert "org:admin" in alice_me["permissions"]
    bob_me = await me(browser, bearer(await sign_in(browser, sso_org.slug, "bob-1")))
    assert (bob_me["role"], bob_me["permissions"]) == ("viewer", ["data:read", "query"])

    stored = await user_named(runtime, sso_org.tenant.organization_id, "alice@corp.test")
    assert stored is not None
    assert (stored.name, stored.groups, stored.password_hash) == (
        "Alice Admin",
        ["ragaas-admins"],
        None,
    )
    bob = await user_named(runtime, sso_org.tenant.organization_id, "bob@corp.test")
    assert bob is not None
    assert bob.groups == ["other", "staff"]
    listed = await browser.get("/v1/users", headers=bearer(alice))
    names = {u["email"]: u["name"] for u in listed.json()}
    assert names["alice@corp.test"] == "Alice Admin"
    # The tokens are the password login's: refresh works the same way.
    refreshed = await browser.post(
        "/v1/auth/refresh", json={"refresh_token": alice.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200
    events = await audit_actions(runtime, sso_org.tenant.organization_id)
    assert [e.action for e in events] == ["auth.sso_login", "auth.sso_login"]
    assert events[0].actor_user_id == stored.id
    assert events[0].details["role"] == "admin"


async def test_role_is_mapped_again_at_each_login(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg, runtime: Runtime
) -> None:
    idp.set_user("carol-1", email="carol@corp.test", groups=["ragaas-admins"])
    first = await me(browser, bearer(await sign_in(browser, sso_org.slug, "carol-1")))
    assert first["role"] == "admin"
    idp.set_user("carol-1", email="carol@corp.test", name="Carol", groups=["staff"])
    second = await me(browser, bearer(await sign_in(browser, sso_org.slug, "carol-1")))
    assert second["role"] == "viewer"
    assert second["user_id"] == first["user_id"]  # the same user, found by the subject
    # A changed e-mail at the provider follows the subject, not a new account.
    idp.set_user("carol-1", email="carol.new@corp.test", groups=["staff"])
    third = await me(browser, bearer(await sign_in(browser, sso_org.slug, "carol-1")))
    assert third["user_id"] == first["user_id"]
    assert await user_named(runtime, sso_org.tenant.organization_id, "carol@corp.test") is None


async def test_sso_users_have_no_password_and_local_accounts_keep_theirs(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg
) -> None:
    idp.set_user("dave-1", email="dave@corp.test", groups=["staff"])
    assert (await sign_in(browser, sso_org.slug, "dave-1")).status_code == 200
    for password in ("", "correct horse battery", "dave-1"):
        refused = await browser.post(
            "/v1/auth/login", json={"email": "dave@corp.test", "password": password}
        )
        assert refused.status_code == 401
    local = await browser.post(
        "/v1/auth/login",
        json={"email": sso_org.tenant.email, "password": sso_org.tenant.password},
    )
    assert local.status_code == 200
    assert (await me(browser, bearer(local)))["role"] == "admin"


async def test_an_existing_local_user_is_linked_by_email_and_keeps_the_password(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg
) -> None:
    tenant = sso_org.tenant
    body = {"email": "erin@corp.test", "password": "erins password", "role": "analyst"}
    created = await browser.post("/v1/users", json=body, headers=tenant.headers)
    assert created.status_code == 201
    idp.set_user("erin-1", email="erin@corp.test", groups=["ragaas-admins"])
    signed = await me(browser, bearer(await sign_in(browser, sso_org.slug, "erin-1")))
    assert (signed["user_id"], signed["role"]) == (created.json()["id"], "admin")
    by_password = await browser.post(
        "/v1/auth/login", json={"email": "erin@corp.test", "password": "erins password"}
    )
    assert (await me(browser, bearer(by_password)))["role"] == "admin"


async def test_return_to_redirects_with_the_tokens_in_the_fragment_only(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg
) -> None:
    idp.set_user("fay-1", email="fay@corp.test", groups=["staff"])
    back = await sign_in(browser, sso_org.slug, "fay-1", return_to="/ui/")
    assert back.status_code == 303, back.text
    path, _, fragment = back.headers["location"].partition("#")
    assert path == "/ui/"
    tokens = {k: v[0] for k, v in parse_qs(fragment).items()}
    assert tokens["email"] == "fay@corp.test"  # the web UI shows who signed in
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await me(browser, headers))["role"] == "viewer"
    # A refusal goes back to the page too, for it to show (the API's problem text).
    idp.set_user("gil-1", email="gil@corp.test", groups=["contractors"])
    refused = await sign_in(browser, sso_org.slug, "gil-1", return_to="/ui/")
    assert refused.status_code == 303, refused.text
    path, _, fragment = refused.headers["location"].partition("#")
    assert path == "/ui/"
    assert query_of("?" + fragment) == {
        "error": "none of your groups at the identity provider is allowed to use Ragaas",
        "status": "403",
    }
    for target in ("https://evil.test/", "//evil.test/x", "ui", "/\\evil.test", "/" + "x" * 1000):
        refused = await browser.get(f"/v1/auth/oidc/{sso_org.slug}/login?return_to={target}")
        problem(refused, 400, "return_to")


# --- the protocol's defences ------------------------------------------------------------------


async def test_the_pkce_verifier_is_sent_and_a_strict_provider_checks_it(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg
) -> None:
    idp.set_user("gus-1", email="gus@corp.test", groups=["staff"])
    authorize = await start_login(browser, sso_org.slug)
    sent = query_of(authorize)
    assert sent["code_challenge_method"] == "S256"
    assert (await browser.get(await at_provider(authorize, "gus-1"))).status_code == 200
    verifier = idp.pkce.verifiers_seen[-1]
    assert 43 <= len(verifier) <= 128
    assert s256(verifier) == sent["code_challenge"]
    # The client secret went with it (the provider registered the client with one).
    assert "client_secret" not in idp.pkce.token_requests[-1]  # in the Basic header instead

    # A code obtained with someone else's challenge is useless with this browser's verifier.
    forged = s256("an attacker's verifier that is long enough to be a valid one")
    answer = await sign_in(
        browser, sso_org.slug, "gus-1", tamper=lambda url: with_query(url, code_challenge=forged)
    )
    problem(answer, 401, "PKCE verification failed")


async def test_a_wrong_or_missing_state_is_refused_and_audited(
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    idp: Idp,
    sso_org: SsoOrg,
    runtime: Runtime,
) -> None:
    idp.set_user("hal-1", email="hal@corp.test", groups=["staff"])
    back = await at_provider(await start_login(browser, sso_org.slug), "hal-1")
    for forged in ("forged", "é-not-ascii", ""):
        problem(await browser.get(with_query(back, state=forged)), 400, "state does not match")
    # Another browser (no login cookie) cannot finish this login: no login CSRF.
    async with httpx.AsyncClient(transport=client._transport, base_url=CALLBACK) as other:
        problem(await other.get(back), 400, "no single sign-on login is in progress")
    # A forged cookie is not accepted either.
    browser.cookies.set("ragaas_oidc", "e30.e30.forged", domain="ragaas.test")
    problem(await browser.get(back), 400, "state is invalid")
    failed = await audit_actions(runtime, sso_org.tenant.organization_id)
    assert [e.action for e in failed] == ["auth.sso_login_failed"] * 3
    assert "state does not match" in failed[0].details["reason"]
    assert await user_named(runtime, sso_org.tenant.organization_id, "hal@corp.test") is None


async def test_an_id_token_with_another_nonce_is_refused(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg, runtime: Runtime
) -> None:
    idp.set_user("ida-1", email="ida@corp.test", groups=["staff"])
    answer = await sign_in(
        browser, sso_org.slug, "ida-1", tamper=lambda url: with_query(url, nonce="replayed")
    )
    problem(answer, 401, "nonce does not match")
    assert await user_named(runtime, sso_org.tenant.organization_id, "ida@corp.test") is None


async def _real_id_token(idp: Idp, client_id: str, secret: str, nonce: str) -> str:
    """An ID token the provider issues to ``client_id`` (a relying party other than Ragaas)."""
    verifier = "v" * 50
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": "s",
        "nonce": nonce,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    back = await at_provider(f"{idp.url}/oauth2/authorize?{urlencode(query)}", "jan-1")
    form = {
        "grant_type": "authorization_code",
        "code": query_of(back)["code"],
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    async with httpx.AsyncClient() as http:
        tokens = await http.post(f"{idp.url}/oauth2/token", data=form, auth=(client_id, secret))
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["id_token"])


async def test_id_tokens_for_another_client_issuer_or_key_are_refused(
    idp: Idp, sso_org: SsoOrg, settings: Settings
) -> None:
    egress = EgressPolicy.from_settings(settings)
    metadata = await oidc.discover(egress, idp.url)
    other_id, other_secret = idp.register_client(CALLBACK)
    token = await _real_id_token(idp, other_id, other_secret, "n-1")
    claims = await oidc.verify_id_token(egress, metadata, token, other_id, "n-1")
    assert claims["aud"] in (other_id, [other_id])  # the token is sound, for its own client
    with pytest.raises(NotAuthenticated, match=r"another client \(aud\)"):
        await oidc.verify_id_token(egress, metadata, token, sso_org.client_id, "n-1")
    with pytest.raises(NotAuthenticated, match="nonce"):
        await oidc.verify_id_token(egress, metadata, token, other_id, "n-2")
    pretender = oidc.Metadata(**{**metadata.__dict__, "issuer": "https://idp.example"})
    with pytest.raises(NotAuthenticated, match=r"another issuer \(iss\)"):
        await oidc.verify_id_token(egress, pretender, token, other_id, "n-1")
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0xFF
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(NotAuthenticated, match="signature does not verify"):
        await oidc.verify_id_token(
            egress, metadata, f"{header}.{payload}.{flipped}", other_id, "n-1"
        )
    with running_idp() as elsewhere:
        elsewhere_id, elsewhere_secret = elsewhere.register_client(CALLBACK)
        foreign = await _real_id_token(elsewhere, elsewhere_id, elsewhere_secret, "n-1")
    # Signed by another provider's key (these providers publish one key, without a kid: it is
    # checked against this provider's key and fails).
    with pytest.raises(NotAuthenticated, match="signature does not verify"):
        await oidc.verify_id_token(egress, metadata, foreign, elsewhere_id, "n-1")


# --- the provider's rules ---------------------------------------------------------------------


async def test_a_provider_error_is_a_clear_401(browser: httpx.AsyncClient, sso_org: SsoOrg) -> None:
    answer = await browser.get(await at_provider(await start_login(browser, sso_org.slug), None))
    problem(answer, 401, "the identity provider refused the login: access_denied")


async def test_a_disabled_provider_signs_nobody_in(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg, runtime: Runtime
) -> None:
    idp.set_user("kim-1", email="kim@corp.test", groups=["staff"])
    started = await start_login(browser, sso_org.slug)  # begun while enabled
    url = f"/v1/sso/providers/{sso_org.provider['id']}"
    off = await browser.patch(url, json={"enabled": False}, headers=sso_org.tenant.headers)
    assert off.status_code == 200
    assert off.json()["enabled"] is False
    problem(await browser.get(await at_provider(started, "kim-1")), 403, "disabled")
    problem(await browser.get(f"/v1/auth/oidc/{sso_org.slug}/login"), 403, "disabled")
    failed = await audit_actions(runtime, sso_org.tenant.organization_id)
    assert [e.action for e in failed] == ["auth.sso_login_failed"] * 2
    assert await user_named(runtime, sso_org.tenant.organization_id, "kim@corp.test") is None


async def test_only_allowed_email_domains_sign_in(
    browser: httpx.AsyncClient, idp: Idp, make_sso_org: SsoOrgFactory, runtime: Runtime
) -> None:
    org: SsoOrg = await make_sso_org(allowed_domains=["corp.test"], default_role="viewer")
    idp.set_user("lou-1", email="lou@elsewhere.test", groups=["ragaas-admins"])
    problem(await sign_in(browser, org.slug, "lou-1"), 403, "domain elsewhere.test")
    assert await user_named(runtime, org.tenant.organization_id, "lou@elsewhere.test") is None
    idp.set_user("max-1", email="max@corp.test", groups=[])
    assert (await me(browser, bearer(await sign_in(browser, org.slug, "max-1"))))["role"] == (
        "viewer"
    )


async def test_no_mapped_group_is_refused_unless_there_is_a_default_role(
    browser: httpx.AsyncClient, idp: Idp, sso_org: SsoOrg, runtime: Runtime
) -> None:
    idp.set_user("ned-1", email="ned@corp.test", groups=["contractors"])
    problem(await sign_in(browser, sso_org.slug, "ned-1"), 403, "none of your groups")
    assert await user_named(runtime, sso_org.tenant.organization_id, "ned@corp.test") is None
    url = f"/v1/sso/providers/{sso_org.provider['id']}"
    patch = {"default_role": "analyst"}
    assert (await browser.patch(url, json=patch, headers=sso_org.tenant.headers)).is_success
    assert (await me(browser, bearer(await sign_in(browser, sso_org.slug, "ned-1"))))["role"] == (
        "analyst"
    )


async def test_another_organisations_provider_cannot_sign_into_this_one(
    browser: httpx.AsyncClient,
    idp: Idp,
    make_sso_org: SsoOrgFactory,
    runtime: Runtime,
) -> None:
    first: SsoOrg = await make_sso_org()
    second: SsoOrg = await make_sso_org()
    idp.set_user("oli-1", email="oli@corp.test", groups=["ragaas-admins"])
    signed = await me(browser, bearer(await sign_in(browser, first.slug, "oli-1")))
    assert signed["organization_id"] == str(first.tenant.organization_id)
    assert await user_named(runtime, second.tenant.organization_id, "oli@corp.test") is None

    # A code from the first organisation's login, answered to a login of the second: the
    # state (bound to the browser's login of the second) does not match.
    back_first = await at_provider(await start_login(browser, first.slug), "oli-1")
    authorize_second = await start_login(browser, second.slug)  # the cookie is now the second's
    problem(await browser.get(back_first), 400, "state does not match")
    # Even with the second login's state, the first client's code is refused by the provider.
    code = query_of(back_first)["code"]
    state = query_of(authorize_second)["state"]
    spliced = f"{CALLBACK}?{urlencode({'code': code, 'state': state})}"
    problem(await browser.get(spliced), 401, "refused the code")
    assert await user_named(runtime, second.tenant.organization_id, "oli@corp.test") is None


async def test_an_unknown_slug_is_404(browser: httpx.AsyncClient) -> None:
    problem(await browser.get("/v1/auth/oidc/no-such-org/login"), 404, "no-such-org")


async def test_an_unreachable_or_misconfigured_provider_is_a_502_not_a_500(
    browser: httpx.AsyncClient, idp: Idp, make_sso_org: SsoOrgFactory
) -> None:
    closed = await make_sso_org(issuer=f"http://127.0.0.1:{free_port()}")
    problem(await browser.get(f"/v1/auth/oidc/{closed.slug}/login"), 502, "unreachable")
    # A wrong issuer path: the provider has no discovery document there.
    wrong = await make_sso_org(issuer=f"{idp.url}/realms/nope")
    problem(await browser.get(f"/v1/auth/oidc/{wrong.slug}/login"), 502, "answered HTTP 404")


async def test_a_discovery_document_naming_another_issuer_is_refused(settings: Settings) -> None:
    copied = FastAPI()
    endpoints = ("authorization_endpoint", "token_endpoint", "jwks_uri")

    @copied.get("/.well-known/openid-configuration")
    def document() -> dict[str, str]:
        return {"issuer": "https://idp.example"} | dict.fromkeys(endpoints, "https://idp.example/x")

    refused = pytest.raises(oidc.ProviderUnavailable, match=r"names issuer 'https://idp\.example'")
    with serve_in_thread(copied) as url, refused:
        await oidc.discover(EgressPolicy.from_settings(settings), url)
