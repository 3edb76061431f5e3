"""One error hierarchy, rendered as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

PROBLEM_JSON = "application/problem+json"
DATABASE_RETRY_AFTER = 2  # seconds
log = logging.getLogger(__name__)


class AppError(Exception):
    """An expected failure with an HTTP status and a message safe to show the caller."""

    status_code = 400
    title = "Bad request"
    headers: dict[str, str] | None = None  # e.g. Retry-After

    def __init__(self, message: str, status_code: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra


class NotAuthenticated(AppError):
    status_code = 401
    title = "Not authenticated"


class Forbidden(AppError):
    status_code = 403
    title = "Forbidden"


class NotFound(AppError):
    status_code = 404
    title = "Not found"


class Conflict(AppError):
    status_code = 409
    title = "Conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    status_code = 415
    title = "Unsupported media type"


class Unprocessable(AppError):
    status_code = 422
    title = "Unprocessable content"


class ServiceUnavailable(AppError):
    status_code = 503
    title = "Service unavailable"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# OpenAI client libraries read an error's text from {"error": {"message"}}: on the
# OpenAI-compatible routes the problem document carries that member too.
OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")


def _for(request: Request, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    if request.url.path.startswith(OPENAI_PATHS):
        extra["error"] = {"message": detail, "type": title, "code": status}
    return problem(status, title, detail, **extra)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    response = _for(request, exc.status_code, exc.title, exc.message, **exc.extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return _for(request, exc.status_code, str(exc.detail), str(exc.detail))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return _for(request, 422, "Validation failed", f"{where}: {first['msg']}", errors=errors)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the request carried (a NUL character in text, a number out
    # of range…): the caller's input, so a 422 that says which rule it broke.
    assert isinstance(exc, DataError)
    reason = (str(exc.orig).strip() or "invalid value").splitlines()[0]
    return _for(request, 422, "Unprocessable content", f"the database refused a value: {reason}")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The connection broke or could not be made (a restart, a failover, a full pool): the
    # request did not commit, and the pool reconnects on its own, so "retry shortly".
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    response = _for(request, 503, "Service unavailable", "the database is unavailable; retry")
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


async def _client_disconnected(request: Request, exc: Exception) -> JSONResponse:
    # The client went away mid-body (a dropped upload): nobody reads this answer, but it must not
    # count as a server error (metrics, error-rate alerts).
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return _for(request, 400, "Client disconnected", "the request body ended before it was whole")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal server error", "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem+json; never leak exception text on a 500."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnected)
    for unavailable in (OperationalError, InterfaceError, SQLAlchemyTimeoutError):
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
