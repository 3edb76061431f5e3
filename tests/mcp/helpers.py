"""Shared pieces of the MCP tests: an SDK client over HTTP with a bearer key, scoped keys, and
waiting for documents through the MCP tools themselves."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from ragaas.admin import service as admin_service
from ragaas.auth.permissions import Permission
from ragaas.models import User
from ragaas.runtime import Runtime
from tests.conftest import Tenant

HANDBOOK = (
    "# Staff handbook\n\n"
    "Staff get 25 days of paid holiday a year. Holiday requests go to your manager two weeks "
    "ahead. Staff park in garage P3 on Level 2, and the garage opens at 6 am. "
    "The office closes at 8 pm on weekdays."
)
SECURITY = (
    "# Security policy\n\n"
    "Staff get a hardware security key on their first day. Passwords are rotated every 90 days. "
    "Laptops must use full-disk encryption. Visitors sign in at reception and wear a badge."
)


@contextlib.asynccontextmanager
async def http_client(base: str, key: str | None, mode: str = "auto") -> AsyncIterator[Client]:
    """The SDK's own client on ``base``/mcp, sending ``Authorization: Bearer <key>``."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http:
        transport = streamable_http_client(f"{base}/mcp", http_client=http)
        async with Client(transport, mode=mode, cache=None) as client:
            yield client


async def scoped_key(runtime: Runtime, tenant: Tenant, *scopes: Permission) -> str:
    """A new API key of the tenant's admin limited to ``scopes``."""
    async with runtime.sessionmaker() as session:
        user = await session.get(User, tenant.user_id)
        assert user is not None
        _, plaintext = await admin_service.create_api_key(
            session, user, f"mcp-{uuid.uuid4().hex[:6]}", frozenset(scopes)
        )
        await session.commit()
    return plaintext


def structured(result: CallToolResult) -> dict[str, Any]:
    """A tool result's structured content; fails the test with the text of an error result."""
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert not result.is_error, text
    assert result.structured_content is not None, text
    return dict(result.structured_content)


async def ingest(client: Client, title: str, text: str, **extra: Any) -> str:
    """Ingest through the ``ingest_text`` tool and wait until the document is ready."""
    out = structured(await client.call_tool("ingest_text", {"title": title, "text": text, **extra}))
    document_id = str(out["document_id"])
    await wait_ready(client, document_id)
    return document_id


async def wait_ready(client: Client, document_id: str, seconds: float = 90) -> dict[str, Any]:
    """Poll ``get_document`` until the worker has indexed the document."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        doc = structured(await client.call_tool("get_document", {"document_id": document_id}))
        if doc["status"] == "ready" and all(c["embedded"] for c in doc["chunks"]):
            return doc
        assert doc["status"] != "failed", doc["error"]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"document {document_id} still {doc['status']}")
        await asyncio.sleep(0.2)


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result
    return " ".join(getattr(c, "text", "") for c in result.content)
