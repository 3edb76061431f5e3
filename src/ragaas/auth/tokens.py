"""JWT access and refresh tokens (HS256)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from ragaas.errors import NotAuthenticated

ISSUER = "ragaas"


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    kind: str


def issue_token(
    secret: str, user_id: uuid.UUID, organization_id: uuid.UUID, kind: str, ttl: timedelta
) -> str:
    """Sign a token of ``kind`` ('access' or 'refresh') for a user."""
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "org": str(organization_id),
        "typ": kind,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str, kind: str) -> TokenClaims:
    """Verify a token's signature, expiry and kind; raise NotAuthenticated otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER)
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("the token has expired") from None
    except jwt.PyJWTError:
        raise NotAuthenticated("the token is invalid") from None
    if claims.get("typ") != kind:
        raise NotAuthenticated(f"expected an {kind} token")
    try:
        return TokenClaims(uuid.UUID(claims["sub"]), uuid.UUID(claims["org"]), kind)
    except (KeyError, ValueError):
        raise NotAuthenticated("the token is invalid") from None
