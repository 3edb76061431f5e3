"""The problem responses each operation can give, declared in the OpenAPI document.

Every error is rendered as ``application/problem+json`` (ragaas.errors), so the document says so:
FastAPI's own 422 (``application/json``, its HTTPValidationError shape) is replaced, and the
failures that follow from how a route is built are added from the route itself — 401 when it
takes credentials, 403 when it needs a permission, 404 when it names an object by path, 422 when
it takes input, 400 when it takes a body (one that cannot be parsed), 429 when rate limits apply
and 503 when the database is unreachable. Failures
specific to one operation (409, 413, 415, 502, …) are declared on the route with
``responses=problem_responses(...)``; any error response declared without content is given the
problem schema. The fuzz test (tests/security/test_fuzz_openapi.py) keeps
the document honest: a response it does not declare fails it.
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ragaas.errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; validation failures add `errors`, and the "
    "OpenAI-compatible routes add an OpenAI-style `error` member.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "error": {"type": "object"},
    },
    "additionalProperties": True,
}
# Requests outside these paths (probes, metrics, the web UI) are not rate limited
# (ragaas.cache.ratelimit) and do not need the database to answer.
API_PREFIXES = ("/v1/",)


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries declaring problem+json answers with these status codes."""
    return {code: _problem(code) for code in codes}


def _problem(code: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(code).phrase,
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
    }


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """The app's API routes as FastAPI sees them once included (full path, dependant)."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def _route_codes(route: Any, operation: dict[str, Any]) -> set[int]:
    codes: set[int] = set()
    if operation.get("security"):
        codes.add(401)
    # The permission check is the closure ragaas.auth.dependencies.require builds.
    names = {getattr(call, "__qualname__", "") for call in _calls(route.dependant)}
    if any(name.startswith("require.") for name in names):
        codes.add(403)
    if route.dependant.path_params:
        codes.add(404)
    if "422" in operation.get("responses", {}):  # FastAPI's: the route takes input
        codes.add(422)
    if "requestBody" in operation:  # a body that cannot be parsed (not UTF-8, broken multipart)
        codes.add(400)
    if route.path.startswith(API_PREFIXES):
        codes |= {429, 503}
    return codes


def _declare(route: Any, operation: dict[str, Any], shared: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(c) for c in responses if c.isdigit() and c[0] in "45"}
    codes = _route_codes(route, operation) | declared
    if _is_fastapi_validation_error(responses.get("422")):
        del responses["422"]  # rendered as a problem by ragaas.errors, not in FastAPI's shape
    for code in codes:
        content = responses.get(str(code), {}).get("content", {})
        if set(content) <= {PROBLEM_JSON}:  # undeclared, bare, or a problem: the shared one
            responses[str(code)] = {"$ref": f"#/components/responses/{_name(code)}"}
            shared[_name(code)] = _problem(code)
    operation["responses"] = dict(sorted(responses.items()))


def _is_fastapi_validation_error(response: dict[str, Any] | None) -> bool:
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _name(code: int) -> str:
    return HTTPStatus(code).phrase.title().replace(" ", "").replace("-", "")


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every operation's problem responses declared."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = FastAPI.openapi(app)  # FastAPI's document, cached on the app: amended once
    components = document.setdefault("components", {})
    shared: dict[str, Any] = {}
    for route in _api_routes(app):
        for method in route.methods:
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _declare(route, operation, shared)
    components["responses"] = dict(sorted(shared.items()))
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_problem_openapi(app: FastAPI) -> None:
    """Serve ``problem_openapi`` as the app's /openapi.json."""
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
