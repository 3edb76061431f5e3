"""The periodic kinds, with the check run against a controlled clock: once per episode.

The worker also runs the check every minute on the real clock; the assertions hold whichever of
the two sees an episode first (the alert row is locked while it is checked).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from ragaas.notifications.checks import run_checks
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, wait_for_document
from tests.notifications.conftest import WEBHOOK_SECRET, create_alert, deliveries, jobs_settled
from tests.notifications.receivers import WebhookReceiver, eventually
from tests.sources.helpers import create_source, sync_and_wait


async def test_a_stale_source_alerts_once_per_episode(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    runtime: Runtime,
    webhook: tuple[WebhookReceiver, str],
) -> None:
    receiver, url = webhook
    folder = settings.source_folder_roots[0] / uuid.uuid4().hex
    folder.mkdir()
    (folder / "a.md").write_text("Aardvarks dig burrows at night.")
    source = await create_source(
        client, tenant, name="Wiki", type="file", config={"path": str(folder)}
    )
    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded"
    alert = await create_alert(
        client,
        tenant,
        name="Stale wiki",
        kind="source_stale",
        threshold=1,
        webhook={"url": url, "secret": WEBHOOK_SECRET},
    )
    now = datetime.now(UTC)
    org = tenant.organization_id

    assert await run_checks(runtime, now + timedelta(minutes=30), org) == 0
    assert await run_checks(runtime, now + timedelta(hours=2), org) == 1
    assert await run_checks(runtime, now + timedelta(hours=3), org) == 0  # same episode

    await eventually(lambda: receiver.received, what="the webhook")
    (hit,) = receiver.received
    assert hit.verified
    data = hit.payload["data"]
    assert hit.payload["kind"] == "source_stale"
    assert (data["source_id"], data["source_name"], data["threshold_hours"]) == (
        source["id"],
        "Wiki",
        1,
    )
    assert data["last_success_at"] == data["since"]
    assert datetime.fromisoformat(data["since"]) == datetime.fromisoformat(first["finished_at"])
    assert data["hours_since"] >= 2
    assert hit.payload["occurred_at"] == (now + timedelta(hours=2)).isoformat()

    # A new successful sync ends the episode; stale again later is a new one.
    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded"
    assert await run_checks(runtime, now + timedelta(hours=3), org) == 1
    await eventually(lambda: len(receiver.received) == 2, what="the second webhook")
    assert receiver.received[1].payload["data"]["since"] != data["since"]
    assert len(await deliveries(client, tenant, alert["id"])) == 2


async def test_the_error_rate_alerts_once_per_episode(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runtime: Runtime,
    webhook: tuple[WebhookReceiver, str],
) -> None:
    receiver, url = webhook
    rule = await client.post(
        "/v1/rules",
        json={
            "name": "no secrets",
            "type": "guardrail",
            "condition": 'query.contains("secret")',
            "action": {"type": "block", "message": "No."},
        },
        headers=tenant.headers,
    )
    assert rule.status_code == 201, rule.text
    alert = await create_alert(
        client,
        tenant,
        name="Errors",
        kind="error_rate",
        threshold=40,
        window_minutes=10,
        min_events=4,
        webhook={"url": url, "secret": WEBHOOK_SECRET},
    )
    org = tenant.organization_id

    async def search(query: str) -> None:
        response = await client.post("/v1/search", json={"query": query}, headers=tenant.headers)
        assert response.status_code == 200, response.text

    for query in ("parking", "holidays", "canteen", "the secret plan"):
        await search(query)
    # 1 blocked of 4 = 25 %: under the threshold.
    assert await run_checks(runtime, datetime.now(UTC), org) == 0

    broken = await client.post(
        "/v1/documents",
        files={"file": ("broken.pdf", b"%PDF-1.4 this is not a pdf", "application/pdf")},
        headers=tenant.headers,
    )
    assert (await wait_for_document(client, tenant.headers, broken.json()["id"]))["status"] == (
        "failed"
    )
    await search("secret one")
    await search("secret two")
    # (3 blocked + 1 failed document) of (6 queries + 1 document) = 57.14 %.
    now = datetime.now(UTC)
    await run_checks(runtime, now, org)
    await run_checks(runtime, now, org)  # still the same episode
    await eventually(lambda: jobs_settled(runtime, tenant), 30, "the delivery")
    (first,) = await deliveries(client, tenant, alert["id"])
    assert first["status"] == "sent"
    data = first["payload"]["data"]
    assert data["rate_percent"] == 57.14
    assert (data["queries"], data["blocked_queries"]) == (6, 3)
    assert (data["documents"], data["failed_documents"]) == (1, 1)
    assert (data["threshold_percent"], data["window_minutes"]) == (40, 10)
    assert data["summary"] == "Error rate 57.14% over the last 10 minutes (threshold 40%)"
    (hit,) = receiver.received
    assert hit.verified
    assert hit.payload == first["payload"]
    current = await client.get(f"/v1/alerts/{alert['id']}", headers=tenant.headers)
    assert current.json()["state"]["rate_percent"] == 57.14

    # Eleven minutes later the window is empty: the episode ends ...
    assert await run_checks(runtime, now + timedelta(minutes=11), org) == 0
    # ... so the rate being high again is a new episode, alerted once more.
    await run_checks(runtime, now, org)
    await eventually(lambda: jobs_settled(runtime, tenant), 30, "the delivery")
    assert len(await deliveries(client, tenant, alert["id"])) == 2
    assert len(receiver.received) == 2
