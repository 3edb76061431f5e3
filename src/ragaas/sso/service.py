"""SSO providers: create, change, list, delete; their secrets sealed, shown masked."""

from __future__ import annotations

import ipaddress
import uuid
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.errors import Conflict, NotFound, Unprocessable
from ragaas.models import SsoProvider
from ragaas.security.egress import EgressPolicy
from ragaas.settings import Settings
from ragaas.sources.crypto import Keyring, SecretError
from ragaas.sso.schemas import ProviderCreate, ProviderFields, ProviderOut, ProviderUpdate
from ragaas.tenancy.repository import OrgRepository

MASK = "********"
CALLBACK_PATH = "/v1/auth/oidc/callback"


class ProviderRepository(OrgRepository[SsoProvider]):
    model = SsoProvider
    noun = "SSO provider"


def check_issuer(issuer: str, settings: Settings) -> str:
    """The issuer without a trailing slash; 422 unless https (or http to an allow-listed host,
    for a test or intranet provider) and reachable under the outbound-request guard."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        raise Unprocessable("issuer: an https:// URL without a query, e.g. https://idp.example")
    policy = EgressPolicy.from_settings(settings)
    if parts.scheme == "http" and not _allow_listed(policy, parts.hostname):
        raise Unprocessable("issuer: must be https:// (http only for hosts in RAGAAS_EGRESS_ALLOW)")
    try:
        policy.check_static(issuer, "issuer")
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None
    return issuer.rstrip("/")


def _allow_listed(policy: EgressPolicy, host: str) -> bool:
    if policy.host_allowed(host):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return any(address in net for net in policy.networks if net.version == address.version)


async def create(
    session: AsyncSession,
    organization_id: uuid.UUID,
    body: ProviderCreate,
    keyring: Keyring,
    settings: Settings,
) -> SsoProvider:
    """A new provider; 409 if the slug is taken (by any organisation)."""
    await _slug_free(session, body.slug)
    provider = ProviderRepository(session, organization_id).add(
        SsoProvider(
            slug=body.slug,
            name=body.name,
            issuer=check_issuer(body.issuer, settings),
            client_id=body.client_id,
            scopes=body.scopes,
            groups_claim=body.groups_claim,
            group_roles={g: r.value for g, r in body.group_roles.items()},
            default_role=body.default_role.value if body.default_role else None,
            allowed_domains=_domains(body.allowed_domains),
            enabled=body.enabled,
        )
    )
    provider.client_secret = _seal(body, keyring, organization_id, None)
    await session.flush()
    return provider


async def update(
    session: AsyncSession,
    provider: SsoProvider,
    body: ProviderUpdate,
    keyring: Keyring,
    settings: Settings,
) -> None:
    """Apply the fields the body set."""
    sent = body.model_fields_set
    for name in ("name", "client_id", "scopes", "groups_claim", "enabled"):
        if name in sent and getattr(body, name) is None:
            raise Unprocessable(f"{name}: may not be null")
        if name in sent:
            setattr(provider, name, getattr(body, name))
    if "issuer" in sent:
        if body.issuer is None:
            raise Unprocessable("issuer: may not be null")
        provider.issuer = check_issuer(body.issuer, settings)
    if body.group_roles is not None:
        provider.group_roles = {g: r.value for g, r in body.group_roles.items()}
    if "default_role" in sent:
        provider.default_role = body.default_role.value if body.default_role else None
    if body.allowed_domains is not None:
        provider.allowed_domains = _domains(body.allowed_domains)
    if "client_secret" in sent:
        provider.client_secret = _seal(
            body, keyring, provider.organization_id, provider.client_secret
        )
    await session.flush()


def _seal(
    body: ProviderFields, keyring: Keyring, organization_id: uuid.UUID, previous: str | None
) -> str | None:
    if body.client_secret is None:
        return None
    plain = body.client_secret.get_secret_value()
    if plain == MASK:  # the masked value sent back: keep the stored secret
        return previous
    return keyring.seal(plain, organization_id) if plain else None


def _domains(domains: list[str]) -> list[str]:
    return sorted({d.strip().lower().lstrip("@") for d in domains})


async def _slug_free(session: AsyncSession, slug: str) -> None:
    taken = await session.scalar(select(SsoProvider.id).where(SsoProvider.slug == slug))
    if taken is not None:
        raise Conflict(f"the SSO slug {slug!r} is taken; choose another")


async def by_slug(session: AsyncSession, slug: str) -> SsoProvider:
    """The provider a login URL names, in whichever organisation it is; 404 otherwise."""
    provider = await session.scalar(select(SsoProvider).where(SsoProvider.slug == slug))
    if provider is None:
        raise NotFound(f"no single sign-on is configured under {slug!r}")
    return provider


def describe(provider: SsoProvider, base_url: str) -> ProviderOut:
    """The provider as the API shows it (secret masked)."""
    return ProviderOut(
        id=provider.id,
        slug=provider.slug,
        name=provider.name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=MASK if provider.client_secret else None,
        scopes=list(provider.scopes),
        groups_claim=provider.groups_claim,
        group_roles=dict(provider.group_roles),
        default_role=provider.default_role,
        allowed_domains=list(provider.allowed_domains),
        enabled=provider.enabled,
        login_url=f"/v1/auth/oidc/{provider.slug}/login",
        redirect_uri=base_url.rstrip("/") + CALLBACK_PATH,
        created_at=provider.created_at,
    )


def open_secret(provider: SsoProvider, keyring: Keyring) -> str | None:
    """The client secret in plain text, for the token request."""
    if provider.client_secret is None:
        return None
    return keyring.open(provider.client_secret, provider.organization_id)


async def reseal_all(session: AsyncSession, keyring: Keyring) -> int:
    """Re-seal client secrets not sealed with the keyring's current key (``rotate-key``)."""
    changed = 0
    for provider in await session.scalars(select(SsoProvider).with_for_update()):
        secret = provider.client_secret
        if secret is None or keyring.key_id_of(secret) == keyring.current:
            continue
        try:
            plain = keyring.open(secret, provider.organization_id)
        except SecretError as exc:
            # All or nothing: the caller's transaction is rolled back.
            raise Conflict(f"SSO provider {provider.id}: {exc}; nothing was re-sealed") from exc
        provider.client_secret = keyring.seal(plain, provider.organization_id)
        changed += 1
    await session.flush()
    return changed
