"""The signature checks in docs/notifications.md, run as written against real deliveries."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant, listening_socket
from tests.notifications.conftest import WEBHOOK_SECRET, create_alert
from tests.notifications.receivers import WebhookReceiver

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"


def _block(language: str) -> str:
    (code,) = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return str(code)


async def test_the_python_example_verifies_a_real_delivery(
    client: httpx.AsyncClient, tenant: Tenant, webhook: tuple[WebhookReceiver, str]
) -> None:
    receiver, url = webhook
    namespace: dict[str, Any] = {}
    exec(_block("python"), namespace)  # noqa: S102 - the documented code, as written
    verify: Callable[..., bool] = namespace["verify"]
    alert = await create_alert(
        client,
        tenant,
        name="Doc",
        kind="sync_failed",
        webhook={"url": url, "secret": WEBHOOK_SECRET},
    )
    sent = await client.post(f"/v1/alerts/{alert['id']}/test", headers=tenant.headers)
    assert sent.json()[0]["status"] == "sent"
    (hit,) = receiver.received
    timestamp, signature = hit.headers["x-ragaas-timestamp"], hit.headers["x-ragaas-signature"]
    assert verify(WEBHOOK_SECRET, timestamp, hit.body, signature)
    assert not verify(WEBHOOK_SECRET, timestamp, hit.body + b" ", signature)
    assert not verify("another secret 0123456789", timestamp, hit.body, signature)
    assert not verify(WEBHOOK_SECRET, str(int(timestamp) - 3600), hit.body, signature)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
async def test_the_node_example_receives_a_real_delivery(
    client: httpx.AsyncClient, tenant: Tenant, tmp_path: Path
) -> None:
    script = tmp_path / "receiver.js"
    script.write_text(_block("js"))
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "RAGAAS_WEBHOOK_SECRET": WEBHOOK_SECRET, "PORT": str(port)}
    node = await asyncio.create_subprocess_exec(
        "node", str(script), env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        for _ in range(100):
            try:
                await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        hook = {"url": f"http://127.0.0.1:{port}/hook", "secret": WEBHOOK_SECRET}
        good = await create_alert(client, tenant, name="Node", kind="sync_failed", webhook=hook)
        hook["secret"] = "not the receiver's secret"
        bad = await create_alert(client, tenant, name="Wrong", kind="sync_failed", webhook=hook)

        accepted = await client.post(f"/v1/alerts/{good['id']}/test", headers=tenant.headers)
        (delivered,) = accepted.json()
        assert (delivered["status"], delivered["response_status"]) == ("sent", 204)
        refused = await client.post(f"/v1/alerts/{bad['id']}/test", headers=tenant.headers)
        (rejected,) = refused.json()
        assert (rejected["status"], rejected["last_error"]) == ("failed", "HTTP 401")
    finally:
        node.terminate()
        out, _ = await asyncio.wait_for(node.communicate(), 10)
    output = out.decode()
    assert f'"delivery":"{delivered["id"]}"' in output
    assert "Test notification of alert 'Node'" in output
