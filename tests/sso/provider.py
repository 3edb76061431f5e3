"""A real OpenID provider on 127.0.0.1 for the SSO tests: ``oidc-provider-mock`` (authlib's
authorization server: discovery, JWKS, RS256 ID tokens, client registration, nonce) behind a
WSGI layer that enforces PKCE S256 as a strict provider does (the mock itself ignores it)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import werkzeug.serving

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@dataclass
class PkceEnforcer:
    """Refuses an authorization request without an S256 challenge, and a token request whose
    code_verifier does not hash to the challenge of its code (RFC 7636 §4.6)."""

    app: Callable[[Environ, StartResponse], Iterable[bytes]]
    challenges: dict[str, str] = field(default_factory=dict)  # code -> challenge
    verifiers_seen: list[str] = field(default_factory=list)
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/authorize":
            return self._authorize(environ, start_response)
        if path == "/oauth2/token" and environ["REQUEST_METHOD"] == "POST":
            return self._token(environ, start_response)
        return self.app(environ, start_response)

    def _authorize(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        challenge = query.get("code_challenge", [""])[0]
        if not challenge or query.get("code_challenge_method") != ["S256"]:
            return _oauth_error(start_response, "invalid_request", "PKCE S256 is required")

        def remember(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            for name, value in headers:
                if name.lower() == "location":
                    code = parse_qs(urlsplit(value).query).get("code", [None])[0]
                    if code:
                        self.challenges[code] = challenge
            return start_response(status, headers, *args)

        return self.app(environ, remember)

    def _token(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        form = parse_qs(raw.decode())
        self.token_requests.append(form)
        if form.get("grant_type") == ["authorization_code"]:
            verifier = form.get("code_verifier", [""])[0]
            self.verifiers_seen.append(verifier)
            challenge = self.challenges.get(form.get("code", [""])[0])
            if not verifier or challenge is None or s256(verifier) != challenge:
                return _oauth_error(start_response, "invalid_grant", "PKCE verification failed")
        environ["wsgi.input"] = io.BytesIO(raw)
        return self.app(environ, start_response)


def _oauth_error(start_response: StartResponse, error: str, description: str) -> list[bytes]:
    body = json.dumps({"error": error, "error_description": description}).encode()
    start_response("400 BAD REQUEST", [("Content-Type", "application/json")])
    return [body]


@dataclass
class Idp:
    url: str
    pkce: PkceEnforcer

    def register_client(self, redirect_uri: str) -> tuple[str, str]:
        """A registered client (the provider then checks its secret and redirect URI)."""
        response = httpx.post(f"{self.url}/oauth2/clients", json={"redirect_uris": [redirect_uri]})
        response.raise_for_status()
        body = response.json()
        return body["client_id"], body["client_secret"]

    def set_user(self, sub: str, **claims: Any) -> None:
        """The claims the provider puts in this subject's ID token."""
        httpx.put(f"{self.url}/users/{sub}", json=claims).raise_for_status()


@contextlib.contextmanager
def running_idp() -> Iterator[Idp]:
    """The provider on a free loopback port, in a thread, stopped afterwards."""
    flask_app = oidc_provider_mock.app(require_client_registration=True, require_nonce=True)
    pkce = PkceEnforcer(flask_app)
    server = werkzeug.serving.make_server("127.0.0.1", 0, pkce, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Idp(f"http://127.0.0.1:{server.server_port}", pkce)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
