"""/v1/sso/providers (an organisation's identity providers) and /v1/auth/oidc (signing in)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.audit import Actor, changed, record
from ragaas.auth.dependencies import OrgAdmin
from ragaas.auth.schemas import TokenPair
from ragaas.auth.sessions import token_pair
from ragaas.db import Session, SystemSession
from ragaas.errors import AppError
from ragaas.models import ActorKind, SsoProvider
from ragaas.openapi import problem_responses
from ragaas.settings import Settings
from ragaas.sources.crypto import keyring_from
from ragaas.sso import flow, service
from ragaas.sso.schemas import ProviderCreate, ProviderOut, ProviderUpdate

router = APIRouter(tags=["sso"])
PROVIDERS = "/v1/sso/providers"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _base_url(request: Request) -> str:
    return (_settings(request).public_url or str(request.base_url)).rstrip("/")


def _details(provider: SsoProvider) -> dict[str, object]:
    return {"slug": provider.slug, "issuer": provider.issuer, "enabled": provider.enabled}


@router.post(PROVIDERS, status_code=status.HTTP_201_CREATED, operation_id="sso_providers_create")
async def create_provider(
    body: ProviderCreate, request: Request, principal: OrgAdmin, session: Session
) -> ProviderOut:
    """Configure an OpenID Connect provider for the organisation (admins only)."""
    settings = _settings(request)
    provider = await service.create(
        session, principal.organization_id, body, keyring_from(settings), settings
    )
    details = _details(provider) | {"group_roles": provider.group_roles}
    record(session, principal, "sso_provider.create", "sso_provider", provider.id, details, request)
    await session.commit()
    return service.describe(provider, _base_url(request))


@router.get(PROVIDERS, operation_id="sso_providers_list")
async def list_providers(
    request: Request, principal: OrgAdmin, session: Session
) -> list[ProviderOut]:
    """The organisation's identity providers, secrets masked (admins only)."""
    repo = service.ProviderRepository(session, principal.organization_id)
    providers = await session.scalars(repo.base().order_by(SsoProvider.created_at))
    return [service.describe(p, _base_url(request)) for p in providers]


@router.get(PROVIDERS + "/{provider_id}", operation_id="sso_providers_get")
async def get_provider(
    provider_id: uuid.UUID, request: Request, principal: OrgAdmin, session: Session
) -> ProviderOut:
    """One identity provider (admins only)."""
    provider = await service.ProviderRepository(session, principal.organization_id).get(provider_id)
    return service.describe(provider, _base_url(request))


@router.patch(PROVIDERS + "/{provider_id}", operation_id="sso_providers_update")
async def update_provider(
    provider_id: uuid.UUID,
    body: ProviderUpdate,
    request: Request,
    principal: OrgAdmin,
    session: Session,
) -> ProviderOut:
    """Change an identity provider: mapping, domains, secret, enabled… (admins only)."""
    settings = _settings(request)
    repo = service.ProviderRepository(session, principal.organization_id)
    provider = await repo.get(provider_id)
    await service.update(session, provider, body, keyring_from(settings), settings)
    details = _details(provider) | {"changed": changed(body)}
    record(session, principal, "sso_provider.update", "sso_provider", provider.id, details, request)
    await session.commit()
    return service.describe(provider, _base_url(request))


@router.delete(
    PROVIDERS + "/{provider_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="sso_providers_delete",
)
async def delete_provider(
    provider_id: uuid.UUID, request: Request, principal: OrgAdmin, session: Session
) -> Response:
    """Remove an identity provider; its users stay, and sign in with a password if they have one."""
    repo = service.ProviderRepository(session, principal.organization_id)
    provider = await repo.get(provider_id)
    details = _details(provider)
    record(session, principal, "sso_provider.delete", "sso_provider", provider.id, details, request)
    await session.delete(provider)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- signing in ------------------------------------------------------------------------------


@router.get(
    "/v1/auth/oidc/{slug}/login",
    operation_id="auth_oidc_login",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={
        302: {"description": "To the identity provider's sign-in page"},
        **problem_responses(400, 403, 502),
    },
)
async def oidc_login(
    slug: str,
    request: Request,
    session: SystemSession,  # before sign-in: no organisation to scope to yet
    return_to: Annotated[
        str | None, Query(description="A path on this server to come back to, e.g. /ui/")
    ] = None,
) -> RedirectResponse:
    """Start signing in with the organisation's identity provider (a browser navigation)."""
    target = flow.safe_return_to(return_to)
    settings = _settings(request)
    redirect_uri = _base_url(request) + service.CALLBACK_PATH
    try:
        url, pending, _ = await flow.start(session, settings, slug, redirect_uri, target)
    except AppError as exc:
        await _failed(session, request, exc, None, slug)
        raise
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        flow.STATE_COOKIE,
        flow.seal_state(request.app.state.jwt_secret, pending),
        max_age=int(flow.STATE_LIFETIME.total_seconds()),
        path=flow.COOKIE_PATH,
        secure=redirect_uri.startswith("https://"),
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back, not on cross-site posts
    )
    return response


@router.get(
    "/v1/auth/oidc/callback",
    operation_id="auth_oidc_callback",
    response_model=TokenPair,
    responses={
        303: {"description": "To return_to, the tokens in the URL fragment"},
        **problem_responses(400, 401, 403, 409, 502),
    },
)
async def oidc_callback(
    request: Request,
    session: SystemSession,  # before sign-in: no organisation to scope to yet
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    iss: str | None = None,
    ragaas_oidc: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Any:
    """Where the identity provider sends the browser back: verifies the answer, signs the user
    in (created or updated, role mapped from their groups) and returns the same tokens as
    password login — as JSON, or in the fragment of a redirect to the login's return_to (where
    a refusal goes too, as ``#error=…&status=…``)."""
    secret: str = request.app.state.jwt_secret
    settings = _settings(request)
    callback = flow.Callback(state, code, error, error_description, iss)
    pending: flow.PendingLogin | None = None
    try:
        pending = flow.open_state(secret, ragaas_oidc)
        flow.check_state(pending, callback)
        user = await flow.finish(
            session,
            settings,
            keyring_from(settings),
            pending,
            callback,
            _base_url(request) + service.CALLBACK_PATH,
        )
    except AppError as exc:
        organization_id = pending.organization_id if pending is not None else None
        await _failed(session, request, exc, organization_id, None)
        if pending is None or pending.return_to is None:
            raise
        return _back_with_error(pending.return_to, exc)
    actor = Actor(ActorKind.USER, user.organization_id, user.id)
    details = {"email": user.email, "role": user.role, "groups": user.groups}
    details["provider_id"] = str(pending.provider_id)
    record(session, actor, "auth.sso_login", "user", user.id, details, request)
    pair = await token_pair(session, settings, request.app.state.jwt_keys, user)
    await session.commit()
    return _signed_in(pair, pending.return_to, user.email)


def _signed_in(pair: TokenPair, return_to: str | None, email: str) -> Response:
    if return_to is None:
        response: Response = Response(
            pair.model_dump_json(),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
    else:
        fragment = urlencode(pair.model_dump() | {"email": email})
        response = RedirectResponse(
            f"{return_to}#{fragment}", status_code=status.HTTP_303_SEE_OTHER
        )
        response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(flow.STATE_COOKIE, path=flow.COOKIE_PATH)
    return response


def _back_with_error(return_to: str, exc: AppError) -> Response:
    """A sign-in started from a page (the web UI) goes back there with the problem in the
    fragment, so the page can show it; API callers (no return_to) get the problem itself."""
    fragment = urlencode({"error": exc.message, "status": exc.status_code})
    response = RedirectResponse(f"{return_to}#{fragment}", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(flow.STATE_COOKIE, path=flow.COOKIE_PATH)
    return response


async def _failed(
    session: AsyncSession,
    request: Request,
    exc: AppError,
    organization_id: uuid.UUID | None,
    slug: str | None,
) -> None:
    """Record ``auth.sso_login_failed`` on its own (the failed login changed nothing else)."""
    await session.rollback()
    details: dict[str, object] = {"reason": exc.message, "status": exc.status_code}
    if slug is not None:
        details["slug"] = slug
        if organization_id is None:
            organization_id = await session.scalar(
                select(SsoProvider.organization_id).where(SsoProvider.slug == slug)
            )
    actor = Actor(ActorKind.ANONYMOUS, organization_id)
    record(session, actor, "auth.sso_login_failed", "sso_provider", None, details, request)
    await session.commit()
