"""Alert rules (validation, sealed secrets, masked output) and turning events into deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.errors import Conflict, Unprocessable
from ragaas.jobs.queue import enqueue
from ragaas.models import Alert, AlertDelivery, DataSource, DeliveryStatus
from ragaas.notifications import delivery, events
from ragaas.notifications.schemas import (
    MASK,
    AlertCreate,
    AlertKind,
    AlertOut,
    AlertUpdate,
    DeliveryOut,
    WebhookIn,
    WebhookOut,
)
from ragaas.runtime import Runtime
from ragaas.security.egress import EgressPolicy
from ragaas.settings import Settings
from ragaas.sources.crypto import Keyring, SecretError
from ragaas.tenancy.repository import OrgRepository

# Which optional fields each kind reads; any other is refused rather than silently ignored.
APPLIES: dict[str, frozenset[str]] = {
    "threshold": frozenset({events.SOURCE_STALE, events.LOW_RATING, events.ERROR_RATE}),
    "window_minutes": frozenset({events.ERROR_RATE}),
    "min_events": frozenset({events.ERROR_RATE}),
    "source_id": frozenset({events.SYNC_FAILED, events.SOURCE_STALE}),
    "rule_name": frozenset({events.GUARDRAIL_FIRED}),
}
THRESHOLDS: dict[str, tuple[float, float, str]] = {
    events.SOURCE_STALE: (0.01, 8760, "hours without a successful sync"),
    events.LOW_RATING: (1, 5, "the highest rating that alerts"),
    events.ERROR_RATE: (0, 99.99, "the error percentage above which it alerts"),
}
DEFAULT_WINDOW_MINUTES = 15
DEFAULT_MIN_EVENTS = 10


class AlertRepository(OrgRepository[Alert]):
    model = Alert
    noun = "alert"


class DeliveryRepository(OrgRepository[AlertDelivery]):
    model = AlertDelivery
    noun = "delivery"


async def create(
    session: AsyncSession,
    organization_id: uuid.UUID,
    body: AlertCreate,
    keyring: Keyring,
    settings: Settings,
) -> Alert:
    alert = Alert(id=uuid.uuid4(), name=body.name, kind=body.kind.value, state={})
    _apply(alert, body.model_dump(exclude={"name", "kind", "webhook"}))
    alert.organization_id = organization_id
    _set_webhook(alert, body.webhook, keyring)
    await _check(session, alert, settings)
    AlertRepository(session, organization_id).add(alert)
    await session.flush()
    return alert


async def update(
    session: AsyncSession, alert: Alert, body: AlertUpdate, keyring: Keyring, settings: Settings
) -> Alert:
    sent = body.model_dump(include=body.model_fields_set)
    for required in ("name", "kind", "active", "emails"):
        if required in sent and sent[required] is None:
            raise Unprocessable(f"{required} cannot be null")
    before = (alert.kind, alert.threshold, alert.window_minutes, alert.min_events, alert.source_id)
    _apply(alert, {k: v for k, v in sent.items() if k != "webhook"})
    if "webhook" in sent:
        _set_webhook(alert, body.webhook, keyring)
    await _check(session, alert, settings)
    after = (alert.kind, alert.threshold, alert.window_minutes, alert.min_events, alert.source_id)
    if after != before:
        alert.state = {}  # what it watches changed: a running episode no longer means anything
    await session.flush()
    return alert


def _apply(alert: Alert, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(alert, name, value.value if isinstance(value, AlertKind) else value)


def _set_webhook(alert: Alert, webhook: WebhookIn | None, keyring: Keyring) -> None:
    if webhook is None:
        alert.webhook_url, alert.webhook_secret = None, None
        return
    if webhook.secret == MASK:
        if alert.webhook_secret is None:
            raise Unprocessable("webhook.secret: send the secret (there is none stored to keep)")
    else:
        alert.webhook_secret = keyring.seal(webhook.secret, alert.organization_id)
    alert.webhook_url = str(webhook.url)


async def _check(session: AsyncSession, alert: Alert, settings: Settings) -> None:
    """The kind's rules: which fields apply, which are required, their ranges, the channels."""
    if alert.webhook_url:  # SSRF guard (security/egress.py): IP literals/localhost, a 422
        try:
            EgressPolicy.from_settings(settings).check_static(alert.webhook_url, "webhook.url")
        except ValueError as exc:
            raise Unprocessable(str(exc)) from None
    kind = alert.kind
    for name, kinds in APPLIES.items():
        if getattr(alert, name) is not None and kind not in kinds:
            raise Unprocessable(f"{name} does not apply to {kind} alerts")
    if kind in THRESHOLDS:
        low, high, meaning = THRESHOLDS[kind]
        if alert.threshold is None:
            raise Unprocessable(f"{kind} alerts need a threshold ({meaning})")
        if not low <= alert.threshold <= high:
            raise Unprocessable(f"threshold of a {kind} alert is between {low:g} and {high:g}")
    if kind == events.ERROR_RATE:
        alert.window_minutes = alert.window_minutes or DEFAULT_WINDOW_MINUTES
        alert.min_events = alert.min_events or DEFAULT_MIN_EVENTS
    if alert.source_id is not None:
        source = await session.get(DataSource, alert.source_id)
        if source is None or source.organization_id != alert.organization_id:
            raise Unprocessable(f"data source {alert.source_id} not found")
    if not alert.webhook_url and not alert.emails:
        raise Unprocessable("an alert needs a channel: a webhook, e-mail recipients or both")
    if alert.emails and not settings.smtp_host:
        raise Unprocessable("e-mail is not configured on this server (RAGAAS_SMTP_HOST)")


def _origin(url: str) -> str:
    """Scheme and host only: a webhook URL can itself be a credential (e.g. Slack's)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/{MASK}"


def describe(alert: Alert, *, full_urls: bool) -> AlertOut:
    """The alert as the API shows it: the secret masked, the URL in full only for admins."""
    webhook = None
    if alert.webhook_url:
        url = alert.webhook_url if full_urls else _origin(alert.webhook_url)
        webhook = WebhookOut(url=url, secret=MASK)
    return AlertOut(
        id=alert.id,
        name=alert.name,
        kind=AlertKind(alert.kind),
        threshold=alert.threshold,
        window_minutes=alert.window_minutes,
        min_events=alert.min_events,
        source_id=alert.source_id,
        rule_name=alert.rule_name,
        webhook=webhook,
        emails=list(alert.emails),
        active=alert.active,
        state=dict(alert.state or {}),
        created_at=alert.created_at,
        updated_at=alert.updated_at,
    )


def describe_delivery(row: AlertDelivery, *, full_urls: bool) -> DeliveryOut:
    out = DeliveryOut.model_validate(row)
    if row.channel == delivery.WEBHOOK and not full_urls:
        out.target = _origin(row.target)
    return out


def matches(alert: Alert, kind: str, data: Mapping[str, Any]) -> bool:
    """Whether an event reported by ``emit`` concerns this alert."""
    if kind == events.SYNC_FAILED:
        return alert.source_id is None or str(alert.source_id) == data.get("source_id")
    if kind == events.GUARDRAIL_FIRED:
        rules = data.get("rules") or []
        if alert.rule_name is not None:
            return any(r.get("name") == alert.rule_name for r in rules)
        # Unfiltered: guardrail rules and blocks, not every filter or instruction that applied.
        return any(r.get("type") == "guardrail" or r.get("action") == "block" for r in rules)
    if kind == events.LOW_RATING:
        rating = data.get("rating")
        return rating is not None and alert.threshold is not None and rating <= alert.threshold
    return False  # the periodic kinds are raised by checks.py, alert by alert


def channels(alert: Alert) -> list[tuple[str, str]]:
    found = []
    if alert.webhook_url:
        found.append((delivery.WEBHOOK, alert.webhook_url))
    if alert.emails:
        found.append((delivery.EMAIL, ", ".join(alert.emails)))
    return found


async def deliver_event(
    session: AsyncSession,
    alert: Alert,
    event: Mapping[str, Any],
    *,
    test: bool = False,
    queue: bool = True,
) -> list[uuid.UUID]:
    """A delivery row (and, with ``queue``, a job) per channel of ``alert``; returns their ids.

    An event already delivered for this alert and channel (same dedup key) is skipped.
    """
    data = dict(event["data"])
    key = None if test else events.dedup_key(event["kind"], data)
    data["summary"] = events.summary(event["kind"], data)
    data["alert"] = {"id": str(alert.id), "name": alert.name, "kind": alert.kind}
    payload = {**event, "data": data}
    created = []
    for channel, target in channels(alert):
        stmt = (
            insert(AlertDelivery)
            .values(
                id=uuid.uuid4(),
                organization_id=alert.organization_id,
                alert_id=alert.id,
                event_id=uuid.UUID(event["id"]),
                kind=event["kind"],
                channel=channel,
                target=target,
                payload=payload,
                status=DeliveryStatus.PENDING,
                attempts=0,
                dedup_key=key,
                test=test,
            )
            .on_conflict_do_nothing(
                index_elements=["alert_id", "channel", "dedup_key"],
                index_where=text("dedup_key IS NOT NULL"),
            )
            .returning(AlertDelivery.id)
        )
        delivery_id = await session.scalar(stmt)
        if delivery_id is None:
            continue
        if queue:
            await enqueue(session, delivery.DELIVER_TASK, {"delivery_id": str(delivery_id)})
        created.append(delivery_id)
    return created


async def dispatch(session: AsyncSession, event: Mapping[str, Any]) -> list[uuid.UUID]:
    """Deliveries for every active alert of the event's organisation that it matches."""
    organization_id = uuid.UUID(event["organization_id"])
    alerts = await session.scalars(
        select(Alert)
        .where(
            Alert.organization_id == organization_id,
            Alert.kind == event["kind"],
            Alert.active.is_(True),
        )
        .order_by(Alert.created_at)
    )
    created = []
    for alert in alerts:
        if matches(alert, event["kind"], event["data"]):
            created += await deliver_event(session, alert, event)
    return created


async def send_test(runtime: Runtime, session: AsyncSession, alert: Alert) -> list[uuid.UUID]:
    """Send a ``test`` event through each channel now (one attempt each, no retries)."""
    data = {
        "test": True,
        "alert_name": alert.name,
        "alert_kind": alert.kind,
        "message": "A test notification from Ragaas: this channel works.",
    }
    event = events.envelope(alert.organization_id, events.TEST, data)
    ids = await deliver_event(session, alert, event, test=True, queue=False)
    await session.commit()
    for delivery_id in ids:
        await delivery.attempt(runtime, delivery_id, retry=False)
    return ids


async def reseal_all(session: AsyncSession, keyring: Keyring) -> int:
    """Re-seal every webhook secret under the keyring's current key; returns how many changed.

    For ``ragaas admin rotate-key``, next to the data sources' ``reseal_all``.
    """
    changed = 0
    for alert in await session.scalars(
        select(Alert).where(Alert.webhook_secret.is_not(None)).with_for_update()
    ):
        sealed = alert.webhook_secret or ""
        if keyring.key_id_of(sealed) == keyring.current:
            continue
        try:
            plain = keyring.open(sealed, alert.organization_id)
        except SecretError as exc:
            raise Conflict(f"alert {alert.id}: {exc}; nothing was re-sealed") from exc
        alert.webhook_secret = keyring.seal(plain, alert.organization_id)
        changed += 1
    await session.flush()
    return changed
