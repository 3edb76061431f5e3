"""Fixtures of the notification tests: a webhook receiver, an SMTP server, alert helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from ragaas.runtime import Runtime
from tests.conftest import Tenant, listening_socket, serve_in_thread
from tests.notifications.receivers import MailSink, WebhookReceiver

WEBHOOK_SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture
def webhook() -> Iterator[tuple[WebhookReceiver, str]]:
    """A receiver and its URL, verifying signatures with WEBHOOK_SECRET."""
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    with serve_in_thread(receiver.app()) as base:
        yield receiver, f"{base}/hook"


@pytest.fixture
def smtp(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailSink]:
    """A real SMTP server (aiosmtpd) on a free port, and the server configured to use it."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = runtime.settings
    monkeypatch.setattr(settings, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(settings, "smtp_port", port)
    monkeypatch.setattr(settings, "smtp_security", "none")
    monkeypatch.setattr(settings, "smtp_from", "alerts@ragaas.test")
    try:
        yield sink
    finally:
        controller.stop()


async def create_alert(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/alerts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliveries(
    client: httpx.AsyncClient, tenant: Tenant, alert_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/alerts/{alert_id}/deliveries", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def jobs_settled(runtime: Runtime, tenant: Tenant) -> bool:
    """No dispatch or delivery job of the tenant's is waiting or running."""
    async with runtime.sessionmaker() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs j WHERE j.status IN ('todo', 'doing') "
                "AND (j.args->'event'->>'organization_id' = :org OR EXISTS (SELECT 1 FROM "
                "alert_deliveries d WHERE d.id::text = j.args->>'delivery_id' "
                "AND d.organization_id::text = :org))"
            ),
            {"org": str(tenant.organization_id)},
        )
    return waiting == 0
