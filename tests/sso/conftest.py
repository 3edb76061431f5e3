"""Fixtures for the SSO tests: a real OpenID provider, a browser on the app, configured orgs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant, TenantFactory
from tests.sso.provider import Idp, running_idp

APP = "http://ragaas.test"
CALLBACK = f"{APP}/v1/auth/oidc/callback"


@pytest.fixture
def idp() -> Iterator[Idp]:
    with running_idp() as provider:
        yield provider


@pytest.fixture
async def browser(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app with its own cookie jar, like one user's browser."""
    async with httpx.AsyncClient(transport=client._transport, base_url=APP) as own:
        yield own


@dataclass
class SsoOrg:
    tenant: Tenant
    provider: dict[str, Any]
    client_id: str
    client_secret: str

    @property
    def slug(self) -> str:
        return str(self.provider["slug"])


SsoOrgFactory = Callable[..., Any]


@pytest.fixture
def make_sso_org(client: httpx.AsyncClient, make_tenant: TenantFactory, idp: Idp) -> SsoOrgFactory:
    """An organisation whose admin configured the provider (a client registered for it)."""

    async def make(**overrides: Any) -> SsoOrg:
        tenant = await make_tenant()
        client_id, secret = idp.register_client(CALLBACK)
        body = {
            "slug": f"o-{tenant.organization_id.hex[:12]}",
            "name": "Test IdP",
            "issuer": idp.url,
            "client_id": client_id,
            "client_secret": secret,
            "group_roles": {"ragaas-admins": "admin", "Staff": "viewer"},
        } | overrides
        created = await client.post("/v1/sso/providers", json=body, headers=tenant.headers)
        assert created.status_code == 201, created.text
        return SsoOrg(tenant, created.json(), client_id, secret)

    return make


@pytest.fixture
async def sso_org(make_sso_org: SsoOrgFactory) -> SsoOrg:
    org: SsoOrg = await make_sso_org()
    return org


async def start_login(browser: httpx.AsyncClient, slug: str, **params: str) -> str:
    """Begin at the app; the provider's authorization URL it redirects to."""
    start = await browser.get(f"/v1/auth/oidc/{slug}/login", params=params)
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert isinstance(location, str)
    return location


async def at_provider(authorize_url: str, sub: str | None) -> str:
    """The user at the provider: sees the sign-in form, submits it (or denies, for None);
    the URL the provider sends the browser back to."""
    async with httpx.AsyncClient() as http:
        page = await http.get(authorize_url)
        assert page.status_code == 200, page.text
        assert 'name="sub"' in page.text  # the provider's own sign-in form
        form = {"sub": sub} if sub is not None else {"action": "deny"}
        answer = await http.post(authorize_url, data=form)
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.startswith(CALLBACK), back
    return str(back)


async def sign_in(
    browser: httpx.AsyncClient,
    slug: str,
    sub: str | None,
    tamper: Callable[[str], str] | None = None,
    **params: str,
) -> httpx.Response:
    """The whole redirect dance; the app's answer to the callback."""
    authorize = await start_login(browser, slug, **params)
    back = await at_provider(tamper(authorize) if tamper else authorize, sub)
    return await browser.get(back)


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
