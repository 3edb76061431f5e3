"""Events through the real path: a failing sync, a blocking rule, a low rating; retries and the log.

Everything runs for real: the API, the hooks, the procrastinate worker (dispatch and delivery
jobs with their RetryStrategy), a webhook receiver that checks signatures, an SMTP server.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from ragaas.models import AlertDelivery, QueryHistory
from ragaas.notifications import delivery, events, service
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant
from tests.notifications.conftest import WEBHOOK_SECRET, create_alert, deliveries, jobs_settled
from tests.notifications.receivers import MailSink, WebhookReceiver, eventually
from tests.sources.helpers import create_source, wait_for_run


async def _chat(client: httpx.AsyncClient, tenant: Tenant, query: str) -> dict[str, Any]:
    response = await client.post("/v1/chat", json={"query": query}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _rate(client: httpx.AsyncClient, tenant: Tenant, query_id: str, rating: int) -> None:
    response = await client.post(
        f"/v1/queries/{query_id}/feedback",
        json={"rating": rating, "comment": f"rated {rating}"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text


async def test_a_failed_sync_posts_a_signed_webhook_once_per_run(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    runtime: Runtime,
    webhook: tuple[WebhookReceiver, str],
) -> None:
    receiver, url = webhook
    hook = {"url": url, "secret": WEBHOOK_SECRET}
    folder = settings.source_folder_roots[0] / uuid.uuid4().hex
    folder.mkdir()
    source = await create_source(
        client, tenant, name="Shares", type="file", config={"path": str(folder)}
    )
    other_folder = settings.source_folder_roots[0] / uuid.uuid4().hex
    other_folder.mkdir()
    other = await create_source(
        client, tenant, name="Other", type="file", config={"path": str(other_folder)}
    )
    alert = await create_alert(
        client, tenant, name="Shares sync", kind="sync_failed", source_id=source["id"], webhook=hook
    )
    elsewhere = await create_alert(
        client, tenant, name="Other sync", kind="sync_failed", source_id=other["id"], webhook=hook
    )
    folder.rmdir()  # the folder is gone: the sync fails

    started = await client.post(f"/v1/data-sources/{source['id']}/sync", headers=tenant.headers)
    run = await wait_for_run(client, tenant, source["id"], started.json()["id"], 60)
    assert run["status"] == "failed"

    await eventually(lambda: receiver.of_kind("sync_failed"), what="the webhook")
    (hit,) = receiver.received
    assert hit.verified
    assert hit.status == 200
    payload = hit.payload
    assert payload["kind"] == "sync_failed"
    assert payload["organization_id"] == str(tenant.organization_id)
    data = payload["data"]
    assert (data["source_id"], data["run_id"], data["source_name"]) == (
        source["id"],
        run["id"],
        "Shares",
    )
    assert "does not exist" in data["error"]
    assert data["summary"].startswith("Sync of data source 'Shares' failed:")
    assert data["alert"]["id"] == alert["id"]
    assert int(hit.headers["x-ragaas-timestamp"]) <= int(datetime.now().timestamp())
    (logged,) = await deliveries(client, tenant, alert["id"])
    assert (logged["id"], logged["status"], logged["attempts"]) == (hit.delivery_id, "sent", 1)
    assert logged["payload"] == payload

    # The job retries the run (after 5 s); its second failure is the same run: no second alert.
    async def second_failure() -> bool:
        runs = await client.get(f"/v1/data-sources/{source['id']}/runs", headers=tenant.headers)
        again = runs.json()[0]
        return bool(again["attempts"] >= 2 and again["status"] == "failed")

    await eventually(second_failure, 60, "the retried run")
    await eventually(lambda: jobs_settled(runtime, tenant), 30, "the dispatch job")
    assert len(receiver.received) == 1
    assert await deliveries(client, tenant, elsewhere["id"]) == []


async def test_a_blocking_rule_posts_guardrail_fired(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runtime: Runtime,
    webhook: tuple[WebhookReceiver, str],
) -> None:
    receiver, url = webhook
    hook = {"url": url, "secret": WEBHOOK_SECRET}
    rules = [
        {
            "name": "no salaries",
            "type": "guardrail",
            "condition": 'query.contains("salary")',
            "action": {"type": "block", "message": "Ask HR about salaries."},
        },
        {
            "name": "be brief",
            "type": "business_logic",
            "condition": 'query.contains("parking")',
            "action": {"type": "instruct", "text": "Answer in one sentence."},
        },
    ]
    for rule in rules:
        created = await client.post("/v1/rules", json=rule, headers=tenant.headers)
        assert created.status_code == 201, created.text
    named = await create_alert(
        client,
        tenant,
        name="Salaries",
        kind="guardrail_fired",
        rule_name="no salaries",
        webhook=hook,
    )
    other = await create_alert(
        client, tenant, name="Other", kind="guardrail_fired", rule_name="another rule", webhook=hook
    )
    anything = await create_alert(
        client, tenant, name="Guards", kind="guardrail_fired", webhook=hook
    )
    brief = await create_alert(
        client, tenant, name="Brief", kind="guardrail_fired", rule_name="be brief", webhook=hook
    )

    searched = await client.post(
        "/v1/search", json={"query": "what is my salary"}, headers=tenant.headers
    )
    assert searched.json()["blocked"] == "Ask HR about salaries."
    chat = await _chat(client, tenant, "salary bands for engineers?")
    assert chat["blocked"] is True
    # A business rule fires: only the alert naming it hears of it. No rule: nothing at all.
    await client.post("/v1/search", json={"query": "parking"}, headers=tenant.headers)
    await client.post("/v1/search", json={"query": "canteen"}, headers=tenant.headers)

    await eventually(lambda: len(receiver.received) >= 5, what="five webhooks")
    await eventually(lambda: jobs_settled(runtime, tenant), 30, "the jobs")
    assert len(receiver.received) == 5
    assert all(
        h.verified and h.headers["x-ragaas-event"] == "guardrail_fired" for h in receiver.received
    )
    by_alert: dict[str, list[dict[str, Any]]] = {}
    for hit in receiver.received:
        by_alert.setdefault(hit.payload["data"]["alert"]["id"], []).append(hit.payload["data"])
    assert {k: len(v) for k, v in by_alert.items()} == {
        named["id"]: 2,
        anything["id"]: 2,
        brief["id"]: 1,
    }
    by_source = {d["source"]: d for d in by_alert[named["id"]]}
    assert by_source["search"]["query"] == "what is my salary"
    assert by_source["chat"]["query_id"] == chat["query_id"]
    for data in by_source.values():
        assert data["blocked"] is True
        assert data["message"] == "Ask HR about salaries."
        assert [r["name"] for r in data["rules"]] == ["no salaries"]
        assert data["user_email"] == tenant.email
    (instructed,) = by_alert[brief["id"]]
    assert (instructed["blocked"], instructed["rules"][0]["action"]) == (False, "instruct")
    assert await deliveries(client, tenant, other["id"]) == []


async def test_a_low_rating_is_mailed(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, smtp: MailSink
) -> None:
    alert = await create_alert(
        client,
        tenant,
        name="Unhappy users",
        kind="low_rating",
        threshold=2,
        emails=["ops@example.test"],
    )
    bad = await _chat(client, tenant, "Where is the handbook?")
    good = await _chat(client, tenant, "Who runs payroll?")
    await _rate(client, tenant, good["query_id"], 4)
    await _rate(client, tenant, bad["query_id"], 1)

    await eventually(lambda: smtp.messages, what="the e-mail")
    await eventually(lambda: jobs_settled(runtime, tenant), 30, "the jobs")
    ((sender, recipients, message),) = smtp.messages
    assert (sender, recipients) == ("alerts@ragaas.test", ["ops@example.test"])
    assert message["Subject"] == "[Ragaas] Unhappy users: An answer was rated 1/5"
    assert message["X-Ragaas-Event"] == "low_rating"
    text = message.get_payload(decode=True).decode()
    assert bad["query_id"] in text
    assert "Where is the handbook?" in text
    assert '"comment": "rated 1"' in text
    (logged,) = await deliveries(client, tenant, alert["id"])
    assert (logged["channel"], logged["status"], logged["target"]) == (
        "email",
        "sent",
        "ops@example.test",
    )
    assert message["X-Ragaas-Delivery"] == logged["id"]

    # Rating the same answer low again is the same event: one mail per answer.
    await _rate(client, tenant, bad["query_id"], 2)
    await eventually(lambda: jobs_settled(runtime, tenant), 30, "the jobs")
    assert len(smtp.messages) == 1


async def test_a_failing_receiver_is_retried_with_backoff_and_each_attempt_logged(
    client: httpx.AsyncClient,
    tenant: Tenant,
    webhook: tuple[WebhookReceiver, str],
) -> None:
    receiver, url = webhook
    receiver.fail_first = 2
    alert = await create_alert(
        client,
        tenant,
        name="Ratings",
        kind="low_rating",
        threshold=3,
        webhook={"url": url, "secret": WEBHOOK_SECRET},
    )
    chat = await _chat(client, tenant, "Is the canteen open on Sundays?")
    await _rate(client, tenant, chat["query_id"], 1)

    async def first_failure() -> dict[str, Any] | None:
        logged = await deliveries(client, tenant, alert["id"])
        # attempts counts an attempt when it starts; last_error is written when it has failed
        return logged[0] if logged and logged[0]["last_error"] else None

    pending = await eventually(first_failure, what="the first attempt")
    assert (pending["status"], pending["attempts"], pending["response_status"]) == (
        "pending",
        1,
        500,
    )
    assert pending["last_error"] == "HTTP 500: receiver says no"
    assert pending["next_attempt_at"] is not None

    async def sent() -> dict[str, Any] | None:
        logged = await deliveries(client, tenant, alert["id"])
        return logged[0] if logged[0]["status"] != "pending" else None

    done = await eventually(sent, 60, "the third attempt")
    assert (done["status"], done["attempts"], done["response_status"]) == ("sent", 3, 200)
    assert done["next_attempt_at"] is None
    assert done["sent_at"] is not None
    assert [r.status for r in receiver.received] == [500, 500, 200]
    assert all(r.verified and r.delivery_id == done["id"] for r in receiver.received)
    assert len({r.payload["id"] for r in receiver.received}) == 1  # one event, three attempts
    first, second, third = (r.at for r in receiver.received)
    # procrastinate's exponential backoff: 3 s, then 9 s.
    assert second - first >= 2.5
    assert third - second >= 8


async def test_a_delivery_fails_for_good_after_its_last_attempt(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runtime: Runtime,
    webhook: tuple[WebhookReceiver, str],
) -> None:
    receiver, url = webhook
    receiver.fail_first = 1000
    created = await create_alert(
        client,
        tenant,
        name="Down",
        kind="sync_failed",
        webhook={"url": url, "secret": WEBHOOK_SECRET},
    )
    async with runtime.sessionmaker() as session:
        alert = await service.AlertRepository(session, tenant.organization_id).get(
            uuid.UUID(created["id"])
        )
        event = events.envelope(
            tenant.organization_id, events.SYNC_FAILED, {"run_id": "r1", "error": "boom"}
        )
        (delivery_id,) = await service.deliver_event(session, alert, event, queue=False)
        # As if every earlier attempt had failed already.
        await session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == delivery_id)
            .values(attempts=delivery.MAX_ATTEMPTS - 1)
        )
        await session.commit()

    assert await delivery.attempt(runtime, delivery_id) == "failed"
    (logged,) = await deliveries(client, tenant, created["id"])
    assert (logged["status"], logged["attempts"], logged["next_attempt_at"]) == (
        "failed",
        delivery.MAX_ATTEMPTS,
        None,
    )
    assert logged["last_error"] == "HTTP 500: receiver says no"
    assert len(receiver.received) == 1
    # A finished delivery is not attempted again (e.g. a stalled job run twice).
    assert await delivery.attempt(runtime, delivery_id) == "failed"
    assert len(receiver.received) == 1


async def test_a_failing_report_never_fails_the_callers_transaction(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    await create_alert(
        client,
        tenant,
        name="Ratings",
        kind="low_rating",
        threshold=5,
        webhook={"url": "https://hooks.example.test/x", "secret": WEBHOOK_SECRET},
    )
    row_id = uuid.uuid4()
    async with runtime.sessionmaker() as session:
        session.add(
            QueryHistory(id=row_id, organization_id=tenant.organization_id, kind="chat", query="q")
        )
        # PostgreSQL refuses a NUL character in jsonb: the job insert fails inside emit ...
        await events.emit(session, tenant.organization_id, events.LOW_RATING, {"text": "a\x00b"})
        # ... and the caller's own write still commits.
        await session.commit()
    async with runtime.sessionmaker() as session:
        assert await session.get(QueryHistory, row_id) is not None
        jobs = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task "
                "AND args->'event'->>'organization_id' = :org"
            ),
            {"task": events.DISPATCH_TASK, "org": str(tenant.organization_id)},
        )
    assert jobs == 0
    assert "could not report a low_rating event" in caplog.text
