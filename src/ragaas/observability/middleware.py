"""The HTTP metrics middleware and the /metrics route.

Pure ASGI (not BaseHTTPMiddleware), so server-sent event streams pass through untouched; a
request is timed until its response's last byte. Requests are labelled by route *template*
(``/v1/documents/{document_id}``), never the raw path, so label values stay few; a request no route
matched is labelled ``unmatched``.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragaas.observability import metrics

# Routes whose failures count as failed queries (a recorded query never failed).
QUERY_ROUTES = {"/v1/search": "search", "/v1/chat": "chat", "/v1/chat/completions": "chat"}

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text exposition; queue depth is read from the database now."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        await metrics.refresh_queue_depth(runtime.sessionmaker)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


def route_template(scope: Scope) -> str:
    """The matched route's path template (a mount's prefix; "/" for a mount at the root)."""
    route: Any = scope.get("route")
    if route is None:
        return "unmatched"
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "/"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started ends as a 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = route_template(scope)
            elapsed = time.perf_counter() - started
            metrics.HTTP_LATENCY.labels(scope["method"], route, str(status)).observe(elapsed)
            kind = QUERY_ROUTES.get(route)
            if kind is not None and status >= 500:
                metrics.observe_query_error(kind)
