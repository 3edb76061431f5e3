"""Exceptions raised by the client: one class per kind of failure a caller handles differently.

Every HTTP error of the server is ``application/problem+json`` (``type``, ``title``, ``status``,
``detail``); :func:`error_from_response` turns it into the matching subclass of
:class:`RagaasError`, so callers catch ``NotFoundError`` rather than compare status codes.
"""

from __future__ import annotations

import builtins
from typing import Any

import httpx


class RagaasError(Exception):
    """Any failure of a Ragaas call.

    ``status`` is the HTTP status (None when no response arrived), ``title`` and ``detail`` come
    from the problem+json body, and ``body`` is that whole body (e.g. ``errors`` of a 422).
    """

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        title: str | None = None,
        body: dict[str, Any] | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(detail if status is None else f"{status} {title or ''}: {detail}")
        self.status = status
        self.title = title or ""
        self.detail = detail
        self.body: dict[str, Any] = body or {}
        self.response = response


class AuthenticationError(RagaasError):
    """401: the API key or token is missing, wrong, expired or revoked."""


class PermissionDeniedError(RagaasError):
    """403: authenticated, but the role or the key's scopes do not allow this."""


class NotFoundError(RagaasError):
    """404: no such resource in the caller's organisation."""


class ConflictError(RagaasError):
    """409: it already exists, or changed meanwhile."""


class ValidationError(RagaasError):
    """422: the request is malformed; ``errors`` lists each problem with its location."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors")
        return errors if isinstance(errors, list) else []


class RateLimitError(RagaasError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds, if it gave one."""

    @property
    def retry_after(self) -> float | None:
        value = self.response.headers.get("Retry-After") if self.response is not None else None
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ServerError(RagaasError):
    """5xx: the server (or the LLM behind it, 502) failed; retrying later may help."""


class ConnectionError(RagaasError, builtins.ConnectionError):
    """The server could not be reached (refused, DNS, TLS, timeout): no HTTP status."""


_BY_STATUS: dict[int, type[RagaasError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def error_class(status: int) -> type[RagaasError]:
    """The exception class for an HTTP status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, RagaasError)


def error_from_problem(
    status: int, body: dict[str, Any], response: httpx.Response | None = None
) -> RagaasError:
    """The exception for a problem+json body (also used for a streamed ``error`` event)."""
    detail = body.get("detail")
    title = body.get("title")
    return error_class(status)(
        detail if isinstance(detail, str) else _reason(status),
        status=status,
        title=title if isinstance(title, str) else _reason(status),
        body=body,
        response=response,
    )


def error_from_response(response: httpx.Response) -> RagaasError:
    """The exception for a failed response; a body that is not problem+json becomes the detail."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip()[:500] or response.reason_phrase
        body = {"title": response.reason_phrase, "detail": text}
    return error_from_problem(response.status_code, body, response)


def connection_error(url: str, exc: httpx.TransportError) -> ConnectionError:
    """A transport failure as one readable line naming the server."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "cannot connect"
    reason = str(exc) or type(exc).__name__
    return ConnectionError(f"{kind} to {url}: {reason}")


def _reason(status: int) -> str:
    return httpx.codes.get_reason_phrase(status) or f"HTTP {status}"
