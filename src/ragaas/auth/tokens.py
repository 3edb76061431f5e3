"""JWT access and refresh tokens (HS256), signed by the newest of a ring of keys.

Each token names its key in the ``kid`` header; every key of the ring verifies, the newest signs.
Rotation: put a new key first in RAGAAS_JWT_KEYS, restart, and drop the old one once the tokens
it signed have expired (refresh_token_days). Tokens without a ``kid`` (issued before key ids)
are checked against every key.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from ragaas.errors import NotAuthenticated

ISSUER = "ragaas"


@dataclass(frozen=True)
class JwtKeys:
    """Signing keys as (kid, secret), newest first."""

    keys: tuple[tuple[str, str], ...]

    @classmethod
    def single(cls, secret: str) -> JwtKeys:
        """One key, its id derived from the secret (so it is stable across restarts)."""
        return cls(((hashlib.sha256(secret.encode()).hexdigest()[:8], secret),))

    @classmethod
    def parse(cls, text: str) -> JwtKeys:
        """``kid:secret[,kid:secret...]``, newest first; ValueError when malformed."""
        keys: list[tuple[str, str]] = []
        for part in (p.strip() for p in text.split(",")):
            kid, sep, secret = part.partition(":")
            if not sep or not kid.strip() or len(secret.strip()) < 32:
                raise ValueError("each JWT key is kid:secret with a secret of 32+ characters")
            keys.append((kid.strip(), secret.strip()))
        if len({k for k, _ in keys}) != len(keys):
            raise ValueError("JWT key ids must be unique")
        return cls(tuple(keys))

    @property
    def current(self) -> tuple[str, str]:
        """The (kid, secret) that signs new tokens."""
        return self.keys[0]

    def verifying(self, kid: object) -> list[str]:
        """The secrets that may have signed a token with this ``kid`` header."""
        if kid is None:
            return [secret for _, secret in self.keys]
        return [secret for k, secret in self.keys if k == kid]


Keys = JwtKeys | str


def ring(keys: Keys) -> JwtKeys:
    """A key ring from a ring or a single secret."""
    return keys if isinstance(keys, JwtKeys) else JwtKeys.single(keys)


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    kind: str
    issued_at: float = 0.0  # seconds since the epoch, with fractions
    jti: str | None = None
    family: str | None = None  # refresh tokens: the sign-in they descend from


def issue_token(
    keys: Keys,
    user_id: uuid.UUID,
    organization_id: uuid.UUID,
    kind: str,
    ttl: timedelta,
    *,
    jti: str | None = None,
    family: str | None = None,
) -> str:
    """Sign a token of ``kind`` ('access' or 'refresh') for a user with the newest key."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": str(user_id),
        "org": str(organization_id),
        "typ": kind,
        # Fractional: a token issued just after a revocation in the same second stays valid.
        "iat": now.timestamp(),
        "exp": now + ttl,
        "jti": jti or uuid.uuid4().hex,
    }
    if family is not None:
        claims["fam"] = family
    kid, secret = ring(keys).current
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})


def decode_token(keys: Keys, token: str, kind: str) -> TokenClaims:
    """Verify a token's signature, expiry and kind; raise NotAuthenticated otherwise."""
    claims = _verified(ring(keys), token)
    if claims.get("typ") != kind:
        raise NotAuthenticated(f"expected an {kind} token")
    try:
        return TokenClaims(
            uuid.UUID(str(claims["sub"])),
            uuid.UUID(str(claims["org"])),
            kind,
            float(str(claims.get("iat", 0))),
            _optional_str(claims.get("jti")),
            _optional_str(claims.get("fam")),
        )
    except (KeyError, ValueError, TypeError):
        raise NotAuthenticated("the token is invalid") from None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _verified(keys: JwtKeys, token: str) -> dict[str, object]:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise NotAuthenticated("the token is invalid") from None
    for secret in keys.verifying(kid):
        try:
            claims: dict[str, object] = jwt.decode(
                token, secret, algorithms=["HS256"], issuer=ISSUER
            )
            return claims
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("the token has expired") from None
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            break
    raise NotAuthenticated("the token is invalid")
