"""The sign-in dance: start (redirect to the provider with state, nonce and PKCE) and finish
(code exchange, ID-token checks, user provisioning).

What the callback must compare with (state, nonce, PKCE verifier, provider) travels in a
short-lived HttpOnly cookie signed with the server's JWT key: the browser that started the
login is the only one that can finish it (login CSRF), and no server-side store is needed.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.errors import AppError, Conflict, Forbidden, NotAuthenticated
from ragaas.models import SsoIdentity, SsoProvider, User
from ragaas.security.egress import EgressPolicy
from ragaas.settings import Settings
from ragaas.sources.crypto import Keyring
from ragaas.sso import mapping, oidc, service

STATE_COOKIE = "ragaas_oidc"
COOKIE_PATH = "/v1/auth/oidc"
STATE_LIFETIME = timedelta(minutes=10)
MAX_RETURN_TO = 1000  # it rides in the cookie
_STATE_TYPE = "oidc_state"  # never accepted as an access or refresh token (tokens.py)


@dataclass(frozen=True)
class PendingLogin:
    provider_id: uuid.UUID
    organization_id: uuid.UUID
    state: str
    nonce: str
    verifier: str
    return_to: str | None


@dataclass(frozen=True)
class Callback:
    state: str | None
    code: str | None
    error: str | None
    error_description: str | None
    iss: str | None


def seal_state(secret: str, pending: PendingLogin) -> str:
    """The cookie value carrying a login in progress."""
    claims = {
        "iss": "ragaas",
        "typ": _STATE_TYPE,
        "exp": datetime.now(UTC) + STATE_LIFETIME,
        "pid": str(pending.provider_id),
        "org": str(pending.organization_id),
        "st": pending.state,
        "n": pending.nonce,
        "cv": pending.verifier,
        "rt": pending.return_to,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def open_state(secret: str, cookie: str | None) -> PendingLogin:
    """The login the cookie describes; 400 when missing, expired or forged."""
    if not cookie:
        raise AppError("no single sign-on login is in progress in this browser: start again")
    try:
        claims = jwt.decode(cookie, secret, algorithms=["HS256"], issuer="ragaas")
        if claims.get("typ") != _STATE_TYPE:
            raise jwt.InvalidTokenError("wrong type")
        return PendingLogin(
            uuid.UUID(claims["pid"]),
            uuid.UUID(claims["org"]),
            str(claims["st"]),
            str(claims["n"]),
            str(claims["cv"]),
            claims.get("rt"),
        )
    except jwt.ExpiredSignatureError:
        raise AppError("the single sign-on login took too long: start again") from None
    except (jwt.PyJWTError, KeyError, ValueError):
        raise AppError("the single sign-on login state is invalid: start again") from None


def safe_return_to(value: str | None) -> str | None:
    """A same-site path to send the browser back to, or None (no open redirects)."""
    if value is None or value == "":
        return None
    local = value.startswith("/") and not value.startswith("//") and "\\" not in value
    if not local or len(value) > MAX_RETURN_TO or any(ord(c) < 32 for c in value):
        raise AppError("return_to must be a path on this server, e.g. /ui/")
    return value


async def start(
    session: AsyncSession,
    settings: Settings,
    slug: str,
    redirect_uri: str,
    return_to: str | None,
) -> tuple[str, PendingLogin, SsoProvider]:
    """The provider's authorization URL for a new login, and the login to remember."""
    provider = await service.by_slug(session, slug)
    if not provider.enabled:
        raise Forbidden("single sign-on is disabled for this organisation")
    metadata = await oidc.discover(EgressPolicy.from_settings(settings), provider.issuer)
    pending = PendingLogin(
        provider_id=provider.id,
        organization_id=provider.organization_id,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(64),  # 86 characters: RFC 7636 wants 43 to 128
        return_to=return_to,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(provider.scopes),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": oidc.pkce_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
    )
    endpoint = metadata.authorization_endpoint
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending, provider


def check_state(pending: PendingLogin, callback: Callback) -> None:
    """400 unless the callback answers the login this browser started."""
    if callback.state is None and callback.error:
        return  # some providers drop the state from error answers; an error signs nobody in
    if callback.state is None or not _same(callback.state, pending.state):
        raise AppError("the state does not match the login started in this browser")


async def finish(
    session: AsyncSession,
    settings: Settings,
    keyring: Keyring,
    pending: PendingLogin,
    callback: Callback,
    redirect_uri: str,
) -> User:
    """The user a successful callback signs in (created or updated, role re-mapped)."""
    provider = await session.get(SsoProvider, pending.provider_id)
    if provider is None or provider.organization_id != pending.organization_id:
        raise AppError("the single sign-on provider of this login no longer exists")
    if not provider.enabled:
        raise Forbidden("single sign-on is disabled for this organisation")
    if callback.error:
        detail = f": {callback.error_description}" if callback.error_description else ""
        raise NotAuthenticated(f"the identity provider refused the login: {callback.error}{detail}")
    if not callback.code:
        raise AppError("the identity provider sent no authorization code")
    egress = EgressPolicy.from_settings(settings)
    metadata = await oidc.discover(egress, provider.issuer)
    if callback.iss is not None and callback.iss != metadata.issuer:  # RFC 9207 mix-up defence
        raise NotAuthenticated("the authorization response comes from another issuer")
    secret = service.open_secret(provider, keyring)
    tokens = await oidc.exchange_code(
        egress, metadata, provider.client_id, secret, callback.code, redirect_uri, pending.verifier
    )
    claims = await oidc.verify_id_token(
        egress, metadata, tokens["id_token"], provider.client_id, pending.nonce
    )
    claims = await _with_userinfo(egress, metadata, provider, claims, tokens)
    return await provision(session, provider, mapping.identity(provider, claims))


async def _with_userinfo(
    egress: EgressPolicy,
    metadata: oidc.Metadata,
    provider: SsoProvider,
    claims: dict[str, Any],
    tokens: dict[str, Any],
) -> dict[str, Any]:
    """Claims completed from userinfo when the ID token lacks the groups or the e-mail (some
    providers send them only there)."""
    has_groups = mapping.groups_of(claims, provider.groups_claim) is not None
    access_token = tokens.get("access_token")
    if (has_groups and claims.get("email")) or not isinstance(access_token, str):
        return claims
    info = await oidc.userinfo(egress, metadata, access_token)
    if info.get("sub") != claims["sub"]:  # OIDC Core §5.3.2: else the response is not used
        return claims
    return {**info, **claims}


async def provision(session: AsyncSession, provider: SsoProvider, who: mapping.Identity) -> User:
    """Find the user by the provider's subject, else by e-mail in the provider's organisation,
    else create one without a password; then apply the e-mail, name, groups and role."""
    link = await session.scalar(
        select(SsoIdentity).where(
            SsoIdentity.provider_id == provider.id, SsoIdentity.subject == who.subject
        )
    )
    user = await session.get(User, link.user_id) if link is not None else None
    if user is None:
        user = await _user_by_email(session, provider.organization_id, who.email)
        if user is not None and await _linked_elsewhere(session, provider, user):
            # The provider gave this e-mail to another subject (a recycled address): refuse.
            raise Conflict(f"{who.email} is linked to another account at the identity provider")
    if user is None:
        user = User(
            id=uuid.uuid4(),
            organization_id=provider.organization_id,
            email=who.email,
            password_hash=None,
            active=True,
        )
        session.add(user)
    if not user.active:
        raise Forbidden("your account is disabled in this organisation")
    if (
        user.email != who.email
        and await _user_by_email(session, provider.organization_id, who.email) is not None
    ):
        raise Conflict(f"another user of this organisation has the e-mail {who.email}")
    user.email, user.role, user.groups = who.email, who.role.value, who.groups
    user.name = who.name or user.name
    await _flush(session)
    if link is None:
        link = SsoIdentity(
            organization_id=provider.organization_id,
            provider_id=provider.id,
            user_id=user.id,
            subject=who.subject,
        )
        session.add(link)
    link.last_login_at = datetime.now(UTC)
    await _flush(session)
    return user


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        # Two first sign-ins of one person at once: the other one created the user or link.
        raise Conflict("this account is being signed in concurrently: try again") from None


async def _user_by_email(
    session: AsyncSession, organization_id: uuid.UUID, email: str
) -> User | None:
    user: User | None = await session.scalar(
        select(User).where(User.organization_id == organization_id, User.email == email)
    )
    return user


async def _linked_elsewhere(session: AsyncSession, provider: SsoProvider, user: User) -> bool:
    found = await session.scalar(
        select(SsoIdentity.id).where(
            SsoIdentity.provider_id == provider.id, SsoIdentity.user_id == user.id
        )
    )
    return found is not None


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of two strings (bytes: compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode(), expected.encode())
