"""Request body size limits: 413 problem+json before a large body is read into memory.

Document uploads (``POST /v1/documents``) and MCP calls (whose ``ingest_text`` tool carries a
document) may be as large as ``max_upload_bytes`` plus a multipart envelope; every other request
body is limited to ``max_request_body_bytes`` (JSON bodies of search, chat, sources, rules...).
A declared Content-Length above the limit is refused before reading; a chunked body is counted
as it arrives and refused when it passes the limit.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragaas.documents.upload import MULTIPART_OVERHEAD
from ragaas.errors import problem
from ragaas.mcp.http import PATH as MCP_PATH

UPLOAD_PATHS = ("/v1/documents", MCP_PATH)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (FastAPI re-raises an
    HTTPException from body parsing, so the error handler renders it as a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


def body_limit(scope: Scope, upload_limit: int, body_limit: int) -> int:
    """The largest body this request may send."""
    path: str = scope["path"].rstrip("/")
    if scope["method"] == "POST" and path in UPLOAD_PATHS:
        return upload_limit + MULTIPART_OVERHEAD
    return body_limit


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = getattr(scope.get("app") and scope["app"].state, "settings", None)
        if scope["type"] != "http" or settings is None:
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope, settings.max_upload_bytes, settings.max_request_body_bytes)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            detail = f"the request body is {declared} bytes; the limit is {limit} bytes"
            await problem(413, "Payload too large", detail)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)
