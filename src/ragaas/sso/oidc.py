"""The OpenID Connect protocol, as a relying party: discovery, keys, the token request and
ID-token verification (signature, iss, aud, exp, nonce), with PyJWT for the JOSE parts.

Every request to a provider goes through the outbound-request guard (security/egress.py): an
organisation's admin chooses the issuer URL, so it must not reach the server's own network
unless the operator allow-listed it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt

from ragaas.errors import AppError, NotAuthenticated
from ragaas.security.egress import EgressPolicy

DISCOVERY_SECONDS = 3600.0  # how long discovery documents and key sets are reused
LEEWAY_SECONDS = 60  # clock skew tolerated on exp/iat/nbf
TIMEOUT_SECONDS = 10.0
# Asymmetric algorithms only: "none" and HS* (keyed with the client secret) are refused.
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class ProviderUnavailable(AppError):
    """The identity provider could not be reached or answered nonsense."""

    status_code = 502
    title = "Bad gateway"


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: frozenset[str]
    auth_methods: frozenset[str]


_discovery: dict[str, tuple[float, Metadata]] = {}
_key_sets: dict[str, tuple[float, jwt.PyJWKSet]] = {}


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _client(egress: EgressPolicy) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=egress.transport(), timeout=TIMEOUT_SECONDS)


async def _get_json(egress: EgressPolicy, url: str, what: str) -> dict[str, Any]:
    try:
        async with _client(egress) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the identity provider's {what} is unreachable: {exc}") from None
    return _json(response, what)


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        raise ProviderUnavailable(
            f"the identity provider's {what} answered HTTP {response.status_code}"
        )
    return body


async def discover(egress: EgressPolicy, issuer: str) -> Metadata:
    """The provider's metadata from <issuer>/.well-known/openid-configuration (cached)."""
    cached = _discovery.get(issuer)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    doc = await _get_json(egress, f"{issuer}/.well-known/openid-configuration", "discovery")
    named = str(doc.get("issuer", ""))
    if named.rstrip("/") != issuer.rstrip("/"):
        raise ProviderUnavailable(f"the discovery document names issuer {named!r}, not {issuer!r}")
    try:
        metadata = Metadata(
            issuer=named,
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            jwks_uri=str(doc["jwks_uri"]),
            userinfo_endpoint=doc.get("userinfo_endpoint"),
            algorithms=frozenset(doc.get("id_token_signing_alg_values_supported") or ["RS256"]),
            auth_methods=frozenset(doc.get("token_endpoint_auth_methods_supported") or []),
        )
    except KeyError as exc:
        raise ProviderUnavailable(f"the discovery document lacks {exc.args[0]}") from None
    _discovery[issuer] = (time.monotonic() + DISCOVERY_SECONDS, metadata)
    return metadata


async def _signing_key(egress: EgressPolicy, metadata: Metadata, kid: str | None) -> jwt.PyJWK:
    """The provider key that signed a token; the key set is fetched again once for an unknown
    ``kid`` (the provider rotated its keys)."""
    for refresh in (False, True):
        cached = _key_sets.get(metadata.jwks_uri)
        if refresh or cached is None or cached[0] <= time.monotonic():
            doc = await _get_json(egress, metadata.jwks_uri, "key set")
            try:
                key_set = jwt.PyJWKSet.from_dict(doc)
            except jwt.PyJWTError as exc:
                raise ProviderUnavailable(f"the provider's key set is unusable: {exc}") from None
            cached = (time.monotonic() + DISCOVERY_SECONDS, key_set)
            _key_sets[metadata.jwks_uri] = cached
        keys = [k for k in cached[1].keys if k.public_key_use in (None, "sig")]
        found = [k for k in keys if kid is None or k.key_id == kid]
        if len(found) == 1 or (found and kid is not None):
            return found[0]
    raise NotAuthenticated("the ID token is signed with a key the provider does not publish")


async def exchange_code(
    egress: EgressPolicy,
    metadata: Metadata,
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> dict[str, Any]:
    """The token response for an authorization code, with the PKCE verifier."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers = {"Accept": "application/json"}
    basic = not metadata.auth_methods or "client_secret_basic" in metadata.auth_methods
    if client_secret is not None and basic:
        # RFC 6749 §2.3.1: the id and secret are form-encoded before the Basic encoding.
        pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form["client_id"] = client_id
        if client_secret is not None:
            form["client_secret"] = client_secret
    try:
        async with _client(egress) as http:
            response = await http.post(metadata.token_endpoint, data=form, headers=headers)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the identity provider's token endpoint: {exc}") from None
    if response.status_code in (400, 401):
        raise NotAuthenticated(f"the identity provider refused the code: {_oauth_error(response)}")
    tokens = _json(response, "token endpoint")
    if not isinstance(tokens.get("id_token"), str):
        raise ProviderUnavailable("the identity provider's token response has no id_token")
    return tokens


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    error = str(body.get("error", f"HTTP {response.status_code}"))
    description = body.get("error_description")
    return f"{error}: {description}" if description else error


async def verify_id_token(
    egress: EgressPolicy, metadata: Metadata, token: str, client_id: str, nonce: str
) -> dict[str, Any]:
    """The ID token's claims once its signature (provider key), iss, aud, exp and nonce hold."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise NotAuthenticated("the ID token is malformed") from None
    algorithm = str(header.get("alg"))
    if algorithm not in ALGORITHMS or algorithm not in metadata.algorithms:
        raise NotAuthenticated(f"the ID token's signing algorithm {algorithm!r} is not accepted")
    key = await _signing_key(egress, metadata, header.get("kid"))
    claims = _decode(token, key, algorithm, metadata.issuer, client_id)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise NotAuthenticated("the ID token was issued to another client (azp)")
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise NotAuthenticated("the ID token's nonce does not match this login (replayed?)")
    return claims


def _decode(
    token: str, key: jwt.PyJWK, algorithm: str, issuer: str, client_id: str
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=client_id,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.InvalidAudienceError:
        raise NotAuthenticated("the ID token was issued for another client (aud)") from None
    except jwt.InvalidIssuerError:
        raise NotAuthenticated("the ID token was issued by another issuer (iss)") from None
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("the ID token has expired") from None
    except jwt.InvalidSignatureError:
        raise NotAuthenticated("the ID token's signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"the ID token is invalid: {exc}") from None
    return claims


async def userinfo(egress: EgressPolicy, metadata: Metadata, access_token: str) -> dict[str, Any]:
    """The userinfo endpoint's claims (for providers that leave groups out of the ID token)."""
    if metadata.userinfo_endpoint is None:
        return {}
    try:
        async with _client(egress) as http:
            response = await http.get(
                metadata.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}
            )
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the identity provider's userinfo endpoint: {exc}") from None
    return _json(response, "userinfo endpoint")
