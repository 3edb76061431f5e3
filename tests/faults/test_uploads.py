"""Malformed, truncated, huge and wrong-type uploads: each is a 4xx problem that says why, and
none leaves a document behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ragaas.app import create_app
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant

BOUNDARY = "rg-boundary-1234"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _multipart(name: str, filename: str, content_type: str, data: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


WHOLE = _multipart("file", "notes.txt", "text/plain", b"Staff park in garage P3.\n" * 20)

# (case, content type, body, expected status, words the reason must contain)
BAD_UPLOADS = [
    ("multipart cut off mid-file", MULTIPART, WHOLE[: len(WHOLE) // 2], 422, "truncated"),
    ("multipart with no boundary", "multipart/form-data", WHOLE, 400, "boundary"),
    (
        "multipart without a file field",
        MULTIPART,
        _multipart("other", "a.txt", "text/plain", b"x"),
        422,
        "'file'",
    ),
    (
        "an image",
        MULTIPART,
        _multipart("file", "cat.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
        415,
        "png",
    ),
    (
        "an executable",
        MULTIPART,
        _multipart(
            "file", "tool", "application/octet-stream", b"\x7fELF\x02\x01\x01\x00" + bytes(300)
        ),
        415,
        "unsupported file type",
    ),
    ("a body of no supported type", "text/plain", b"just text", 415, "multipart/form-data"),
    ("no content type at all", "", b"just text", 415, "multipart/form-data"),
    ("JSON cut off", "application/json", b'{"title": "a", "text": "Staff pa', 422, "json"),
    ("JSON of the wrong shape", "application/json", b'["a", "b"]', 422, "body"),
    ("JSON with a number for text", "application/json", b'{"title": "a", "text": 5}', 422, "text"),
    (
        "JSON that is not UTF-8",
        "application/json",
        b'{"title": "\xff\xfe", "text": "x"}',
        422,
        "invalid json",
    ),
]


@pytest.mark.parametrize(
    ("content_type", "body", "status", "reason"),
    [case[1:] for case in BAD_UPLOADS],
    ids=[case[0] for case in BAD_UPLOADS],
)
async def test_a_bad_upload_is_a_4xx_with_a_reason(
    client: httpx.AsyncClient,
    tenant: Tenant,
    content_type: str,
    body: bytes,
    status: int,
    reason: str,
) -> None:
    headers = {**tenant.headers, "Content-Type": content_type} if content_type else tenant.headers
    response = await client.post("/v1/documents", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert reason.lower() in response.json()["detail"].lower(), response.json()
    listed = (await client.get("/v1/documents", headers=tenant.headers)).json()
    assert listed["total"] == 0


async def test_the_whole_upload_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # The control for the cases above: the same envelope, complete, is fine.
    headers = {**tenant.headers, "Content-Type": MULTIPART}
    response = await client.post("/v1/documents", content=WHOLE, headers=headers)
    assert response.status_code == 202, response.text


async def test_a_huge_upload_is_refused_by_its_declared_length(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    body = _multipart("file", "big.txt", "text/plain", b"a" * (settings.max_upload_bytes + 1))
    headers = {**tenant.headers, "Content-Type": MULTIPART}
    response = await client.post("/v1/documents", content=body, headers=headers)
    assert response.status_code == 413, response.text
    assert "upload limit" in response.json()["detail"]


async def test_a_huge_upload_without_a_length_is_refused_while_streaming(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    body = _multipart("file", "big.txt", "text/plain", b"a" * (settings.max_upload_bytes + 1))

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {**tenant.headers, "Content-Type": MULTIPART}
    response = await client.post("/v1/documents", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text
    assert "upload limit" in response.json()["detail"]
    listed = (await client.get("/v1/documents", headers=tenant.headers)).json()
    assert listed["total"] == 0


async def test_an_upload_dropped_midway_is_not_a_server_error(
    settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    # The client sends half of the body it announced, then disconnects.
    app = create_app(settings.model_copy(update={"workers_in_process": False}), runtime)
    headers = [
        (b"authorization", f"Bearer {tenant.api_key}".encode()),
        (b"content-type", MULTIPART.encode()),
        (b"content-length", str(len(WHOLE)).encode()),
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/documents", "raw_path": b"/v1/documents",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 5000),
        "server": ("ragaas.test", 80), "root_path": "", "state": {},
    }  # fmt: skip
    incoming = [
        {"type": "http.request", "body": WHOLE[: len(WHOLE) // 2], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 400
    assert b"before it was whole" in b"".join(m.get("body", b"") for m in sent[1:])
