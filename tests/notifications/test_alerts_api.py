"""/v1/alerts: validation per kind, the secret sealed and masked, permissions, the test send."""

from __future__ import annotations

import secrets
import uuid

import httpx
from sqlalchemy import select

from ragaas.models import Alert
from ragaas.notifications import service
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from ragaas.sources.crypto import Keyring, keyring_from
from tests.conftest import Tenant, TenantFactory, listening_socket
from tests.notifications.conftest import WEBHOOK_SECRET, create_alert, deliveries
from tests.notifications.receivers import MailSink, WebhookReceiver
from tests.sources.helpers import create_source

HOOK = {"url": "https://hooks.example.test/services/T000/B000/XXXX", "secret": WEBHOOK_SECRET}


async def _stored(runtime: Runtime, alert_id: str) -> Alert:
    async with runtime.sessionmaker() as session:
        row = (await session.scalars(select(Alert).where(Alert.id == uuid.UUID(alert_id)))).one()
    return row


async def _user(client: httpx.AsyncClient, tenant: Tenant, role: str) -> dict[str, str]:
    email = f"{role}-{tenant.organization_id.hex[:6]}@example.test"
    created = await client.post(
        "/v1/users",
        json={"email": email, "password": "a long password", "role": role},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    login = await client.post(
        "/v1/auth/login", json={"email": email, "password": "a long password"}
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_the_webhook_secret_is_sealed_at_rest_and_masked(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    alert = await create_alert(client, tenant, name="Syncs", kind="sync_failed", webhook=HOOK)
    assert alert["webhook"] == {"url": HOOK["url"], "secret": "********"}
    assert alert["active"] is True
    listed = await client.get("/v1/alerts", headers=tenant.headers)
    assert WEBHOOK_SECRET not in listed.text
    assert [a["id"] for a in listed.json()] == [alert["id"]]

    row = await _stored(runtime, alert["id"])
    keyring = keyring_from(runtime.settings)
    assert row.webhook_secret is not None
    assert row.webhook_secret.startswith("enc:v1:")
    assert WEBHOOK_SECRET not in row.webhook_secret
    assert keyring.open(row.webhook_secret, tenant.organization_id) == WEBHOOK_SECRET

    # Sending the mask back keeps the stored secret; a new secret replaces it.
    new_url = "https://hooks.example.test/other"
    kept = await client.patch(
        f"/v1/alerts/{alert['id']}",
        json={"webhook": {"url": new_url, "secret": "********"}, "name": "Sync failures"},
        headers=tenant.headers,
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["webhook"]["url"] == new_url
    assert kept.json()["name"] == "Sync failures"
    row = await _stored(runtime, alert["id"])
    assert keyring.open(row.webhook_secret or "", tenant.organization_id) == WEBHOOK_SECRET
    changed = await client.patch(
        f"/v1/alerts/{alert['id']}",
        json={"webhook": {"url": new_url, "secret": "another-secret-0123456789"}},
        headers=tenant.headers,
    )
    assert changed.status_code == 200, changed.text
    row = await _stored(runtime, alert["id"])
    opened = keyring.open(row.webhook_secret or "", tenant.organization_id)
    assert opened == "another-secret-0123456789"

    # The only channel cannot go; switching off works; deleting removes it.
    no_channel = await client.patch(
        f"/v1/alerts/{alert['id']}", json={"webhook": None}, headers=tenant.headers
    )
    assert no_channel.status_code == 422
    assert no_channel.json()["detail"] == (
        "an alert needs a channel: a webhook, e-mail recipients or both"
    )
    off = await client.patch(
        f"/v1/alerts/{alert['id']}", json={"active": False}, headers=tenant.headers
    )
    assert off.json()["active"] is False
    gone = await client.delete(f"/v1/alerts/{alert['id']}", headers=tenant.headers)
    assert gone.status_code == 204
    missing = await client.get(f"/v1/alerts/{alert['id']}", headers=tenant.headers)
    assert missing.status_code == 404


async def test_each_kind_takes_its_own_fields(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory, settings: Settings
) -> None:
    async def refused(**body: object) -> str:
        response = await client.post("/v1/alerts", json=body, headers=tenant.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        detail: str = response.json()["detail"]
        return detail

    base = {"name": "x", "webhook": HOOK}
    assert await refused(kind="low_rating", **base) == (
        "low_rating alerts need a threshold (the highest rating that alerts)"
    )
    assert await refused(kind="low_rating", threshold=7, **base) == (
        "threshold of a low_rating alert is between 1 and 5"
    )
    assert await refused(kind="sync_failed", rule_name="r", **base) == (
        "rule_name does not apply to sync_failed alerts"
    )
    assert await refused(kind="guardrail_fired", threshold=2, **base) == (
        "threshold does not apply to guardrail_fired alerts"
    )
    assert await refused(name="x", kind="sync_failed") == (
        "an alert needs a channel: a webhook, e-mail recipients or both"
    )
    assert await refused(name="x", kind="sync_failed", emails=["ops@example.test"]) == (
        "e-mail is not configured on this server (RAGAAS_SMTP_HOST)"
    )
    short = await refused(name="x", kind="sync_failed", webhook={"url": HOOK["url"], "secret": "s"})
    assert "at least 16 characters" in short
    assert "webhook.url" in await refused(
        name="x", kind="sync_failed", webhook={"url": "ftp://example.test/x", "secret": "s" * 20}
    )
    assert "kind" in await refused(name="x", kind="disk_full", webhook=HOOK)

    # A source filter must name one of the organisation's own sources.
    other = await make_tenant()
    folder = settings.source_folder_roots[0] / uuid.uuid4().hex
    folder.mkdir()
    theirs = await create_source(
        client, other, name="theirs", type="file", config={"path": str(folder)}
    )
    foreign = theirs["id"]
    assert await refused(kind="sync_failed", source_id=foreign, **base) == (
        f"data source {foreign} not found"
    )

    rate = await create_alert(client, tenant, kind="error_rate", threshold=25, **base)
    assert (rate["window_minutes"], rate["min_events"], rate["state"]) == (15, 10, {})
    rating = await create_alert(client, tenant, kind="low_rating", threshold=2, **base)
    assert rating["threshold"] == 2


async def test_who_may_read_and_change_alerts(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: TenantFactory
) -> None:
    alert = await create_alert(client, tenant, name="Guard", kind="guardrail_fired", webhook=HOOK)
    viewer = await _user(client, tenant, "viewer")
    analyst = await _user(client, tenant, "analyst")
    body = {"name": "mine", "kind": "sync_failed", "webhook": HOOK}

    created = await client.post("/v1/alerts", json=body, headers=viewer)
    assert created.status_code == 403
    assert created.json()["detail"] == "this action needs the 'org:admin' permission"
    assert (await client.get("/v1/alerts", headers=viewer)).status_code == 403

    # An analyst reads alerts (not the webhook URL's path: it can be a credential) ...
    listed = await client.get("/v1/alerts", headers=analyst)
    assert listed.status_code == 200
    assert listed.json()[0]["webhook"] == {
        "url": "https://hooks.example.test/********",
        "secret": "********",
    }
    log = await client.get(f"/v1/alerts/{alert['id']}/deliveries", headers=analyst)
    assert log.status_code == 200
    # ... but changes nothing.
    assert (await client.post("/v1/alerts", json=body, headers=analyst)).status_code == 403
    patch = await client.patch(f"/v1/alerts/{alert['id']}", json={"active": False}, headers=analyst)
    assert patch.status_code == 403
    test = await client.post(f"/v1/alerts/{alert['id']}/test", headers=analyst)
    assert test.status_code == 403
    assert (await client.delete(f"/v1/alerts/{alert['id']}", headers=analyst)).status_code == 403

    # Another organisation does not see it at all.
    other = await make_tenant()
    assert (await client.get(f"/v1/alerts/{alert['id']}", headers=other.headers)).status_code == 404
    assert (await client.get("/v1/alerts", headers=other.headers)).json() == []


async def test_a_test_send_goes_through_every_channel_now(
    client: httpx.AsyncClient,
    tenant: Tenant,
    webhook: tuple[WebhookReceiver, str],
    smtp: MailSink,
) -> None:
    receiver, url = webhook
    alert = await create_alert(
        client,
        tenant,
        name="Ops",
        kind="low_rating",
        threshold=2,
        webhook={"url": url, "secret": WEBHOOK_SECRET},
        emails=["ops@example.test", "oncall@example.test"],
    )
    response = await client.post(f"/v1/alerts/{alert['id']}/test", headers=tenant.headers)
    assert response.status_code == 200, response.text
    sent = {d["channel"]: d for d in response.json()}
    assert {c: (d["status"], d["attempts"], d["test"]) for c, d in sent.items()} == {
        "email": ("sent", 1, True),
        "webhook": ("sent", 1, True),
    }
    assert sent["webhook"]["response_status"] == 200

    (hit,) = receiver.received
    assert hit.verified
    assert hit.headers["x-ragaas-event"] == "test"
    assert hit.delivery_id == sent["webhook"]["id"]
    payload = hit.payload
    assert set(payload) == {"id", "kind", "organization_id", "occurred_at", "data"}
    assert payload["organization_id"] == str(tenant.organization_id)
    assert payload["data"]["alert"] == {"id": alert["id"], "name": "Ops", "kind": "low_rating"}
    assert payload["data"]["test"] is True

    ((sender, recipients, message),) = smtp.messages
    assert sender == "alerts@ragaas.test"
    assert recipients == ["ops@example.test", "oncall@example.test"]
    assert message["Subject"] == "[Ragaas] Ops: Test notification of alert 'Ops'"
    assert message["X-Ragaas-Delivery"] == sent["email"]["id"]

    # A receiver that is not there: the test says so at once, in the response and the log.
    sock = listening_socket()
    dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    sock.close()
    dead = await create_alert(
        client,
        tenant,
        name="Dead",
        kind="sync_failed",
        webhook={"url": dead_url, "secret": WEBHOOK_SECRET},
    )
    failed = await client.post(f"/v1/alerts/{dead['id']}/test", headers=tenant.headers)
    (only,) = failed.json()
    assert (only["status"], only["attempts"]) == ("failed", 1)
    assert only["last_error"].startswith("could not reach the webhook")
    assert [d["id"] for d in await deliveries(client, tenant, dead["id"])] == [only["id"]]


async def test_rotating_the_keyring_reseals_webhook_secrets(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    alert = await create_alert(client, tenant, name="Rotate", kind="sync_failed", webhook=HOOK)
    old = keyring_from(runtime.settings)
    new = Keyring({"rotated": secrets.token_bytes(32), **old.keys}, "rotated")
    async with runtime.sessionmaker() as session:
        assert await service.reseal_all(session, new) >= 1
        row = await session.get(Alert, uuid.UUID(alert["id"]))
        assert row is not None
        assert row.webhook_secret is not None
        assert new.key_id_of(row.webhook_secret) == "rotated"
        assert new.open(row.webhook_secret, tenant.organization_id) == WEBHOOK_SECRET
        assert await service.reseal_all(session, new) == 0
        await session.rollback()  # other tests' alerts keep the test keyring
