"""The web UI: the built React app (``web/dist``) served at ``/`` beside the API.

The bundle is built at install time (``make install`` runs ``npm ci && npm run build`` in ``web/``)
and is not committed. Any GET path that is not an API path gets a file of the bundle or, for the
app's own client-side routes (``/documents/123``), ``index.html``. API paths are never answered
here, whatever order the routers and mounts were added in: the catch-all route declines them, so a
mount such as ``/mcp`` added after it still receives its requests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

# First path segments that belong to the API (or its docs), never to the UI.
API_PREFIXES = frozenset(
    {"v1", "health", "ready", "metrics", "docs", "redoc", "openapi.json", "mcp"}
)

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Ragaas: web UI not built</title></head><body style="font-family:system-ui;margin:3rem">
<h1>The Ragaas web UI is not built</h1>
<p>The API is running (see <a href="/docs">/docs</a>). To build the UI, run
<code>make install</code> in the repository, or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run
build</code> (Node.js 20 and npm needed), then reload this page.</p>
<p>Looked for the bundle in <code>{where}</code>.</p></body></html>"""


def default_dist() -> Path:
    """``RAGAAS_WEB_DIST``, else ``web/dist`` of the source tree this package runs from."""
    configured = os.environ.get("RAGAAS_WEB_DIST")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "web" / "dist"


def is_api_path(path: str) -> bool:
    first = path.lstrip("/").split("/", 1)[0]
    return first in API_PREFIXES


class _UiRoute(Route):
    """A catch-all GET route that does not match API paths (so later routes and mounts get them)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and is_api_path(scope["path"]):
            return Match.NONE, {}
        return super().matches(scope)


def _file_in(dist: Path, path: str) -> Path | None:
    """The bundle file for a URL path, refusing anything that resolves outside the bundle."""
    relative = path.lstrip("/")
    if not relative:
        return None
    candidate = (dist / relative).resolve()
    if not candidate.is_relative_to(dist) or not candidate.is_file():
        return None
    return candidate


def mount_web_ui(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the UI bundle at ``/``; call after the API routers are included."""
    root = (dist or default_dist()).resolve()

    async def serve(request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT.format(where=root), status_code=503)
        found = _file_in(root, request.url.path)
        if found is not None:
            # Hashed assets never change under one name; everything else is revalidated.
            immutable = found.parent.name == "assets"
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(found, headers={"Cache-Control": cache})
        if "." in request.url.path.rsplit("/", 1)[-1]:
            return Response("not found", status_code=404, media_type="text/plain")
        # A client-side route of the app (e.g. /documents/123): the app itself renders it.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    route: Any = _UiRoute("/{path:path}", serve, methods=["GET", "HEAD"], include_in_schema=False)
    app.router.routes.append(route)
