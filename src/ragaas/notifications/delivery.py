"""Sending one delivery: a signed webhook POST (httpx) or an e-mail (stdlib ``smtplib``).

Every attempt is written to the delivery's row before and after it runs, and the database is not
held while the network is: a slow receiver costs a worker slot, not a connection. A failed
attempt leaves the row ``pending`` with ``next_attempt_at`` and the job is retried by procrastinate
(``RETRY_BASE_SECONDS ** n`` seconds after the n-th attempt); after ``MAX_ATTEMPTS`` it is
``failed``. A delivery that cannot succeed by retrying (channel removed, secret unreadable, SMTP not
configured) fails at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx

from ragaas import __version__
from ragaas.models import Alert, AlertDelivery, DeliveryStatus
from ragaas.notifications import events
from ragaas.runtime import Runtime
from ragaas.security.egress import EgressPolicy, EgressRefused
from ragaas.settings import Settings
from ragaas.sources.crypto import SecretError, keyring_from

log = logging.getLogger(__name__)

DELIVER_TASK = "notifications.deliver"
MAX_ATTEMPTS = 8  # 7 retries, 3 s to 36 min apart: about 55 minutes in all
RETRY_BASE_SECONDS = 3
SMTP_TIMEOUT_SECONDS = 30.0
ERROR_CHARS = 300
WEBHOOK = "webhook"
EMAIL = "email"


class DeliveryError(Exception):
    """One attempt failed; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, status: int | None = None, *, permanent: bool = False):
        super().__init__(message)
        self.message = message[:ERROR_CHARS]
        self.status = status
        self.permanent = permanent


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``, the X-Ragaas-Signature value."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


async def post_webhook(
    url: str,
    secret: str,
    payload: dict[str, Any],
    delivery_id: uuid.UUID,
    timeout_seconds: float,
    egress: EgressPolicy | None = None,
) -> int:
    """POST the event, signed; returns the 2xx status or raises DeliveryError."""
    body = body_of(payload)
    timestamp = str(int(time.time()))  # per attempt: receivers may refuse stale timestamps
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Ragaas-Webhooks/{__version__}",
        "X-Ragaas-Event": str(payload["kind"]),
        "X-Ragaas-Delivery": str(delivery_id),
        "X-Ragaas-Timestamp": timestamp,
        "X-Ragaas-Signature": sign(secret, timestamp, body),
    }
    try:
        # SSRF guard: connects only to checked, pinned addresses (security/egress.py).
        transport = (egress or EgressPolicy()).transport()
        async with httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, transport=transport
        ) as client:
            response = await client.post(url, content=body, headers=headers)
    except EgressRefused as exc:
        raise DeliveryError(str(exc), permanent=True) from None
    except httpx.TimeoutException:
        raise DeliveryError(f"no response within {timeout_seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"could not reach the webhook: {exc or type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        text = " ".join(response.text.split())[:200]
        raise DeliveryError(
            f"HTTP {response.status_code}: {text}".rstrip(": "), response.status_code
        )
    return response.status_code


def mail(
    settings: Settings, recipients: list[str], payload: dict[str, Any], delivery_id: uuid.UUID
) -> EmailMessage:
    """The alert as a plain-text e-mail."""
    data = payload["data"]
    alert = data.get("alert", {})
    line = str(data.get("summary") or events.summary(payload["kind"], data))
    subject = " ".join(f"[Ragaas] {alert.get('name', 'alert')}: {line}".split())[:200]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(idstring=str(delivery_id), domain="ragaas")
    message["X-Ragaas-Event"] = str(payload["kind"])
    message["X-Ragaas-Delivery"] = str(delivery_id)
    details = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    message.set_content(
        f"{line}\n\n"
        f"Alert: {alert.get('name')} ({alert.get('id')})\n"
        f"Event: {payload['kind']} {payload['id']} at {payload['occurred_at']}\n"
        f"Organisation: {payload['organization_id']}\n\n"
        f"{details}\n"
    )
    return message


def _smtp_send(settings: Settings, message: EmailMessage) -> dict[str, Any]:
    """Blocking SMTP conversation (run in a thread); returns the refused recipients."""
    host, port = settings.smtp_host or "", settings.smtp_port
    context = ssl.create_default_context()
    smtp = (
        smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        if settings.smtp_security == "ssl"
        else smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    )
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        refused: dict[str, Any] = smtp.send_message(message)
    return refused


async def send_mail(settings: Settings, message: EmailMessage) -> str | None:
    """Send over SMTP; returns a note on refused recipients, or raises DeliveryError."""
    if not settings.smtp_host:
        raise DeliveryError(
            "e-mail is not configured on this server (RAGAAS_SMTP_HOST)", permanent=True
        )
    try:
        refused = await asyncio.to_thread(_smtp_send, settings, message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"every recipient was refused: {sorted(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        reason = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise DeliveryError(f"SMTP {exc.smtp_code}: {reason}") from None
    except (smtplib.SMTPException, OSError) as exc:
        where = f"{settings.smtp_host}:{settings.smtp_port}"
        raise DeliveryError(f"SMTP {where}: {exc or type(exc).__name__}") from None
    return f"refused: {', '.join(sorted(refused))}" if refused else None


@dataclass
class _Planned:
    channel: str
    payload: dict[str, Any]
    organization_id: uuid.UUID
    url: str | None = None
    secret: str | None = None
    recipients: list[str] | None = None


async def _begin(runtime: Runtime, delivery_id: uuid.UUID) -> _Planned | str | None:
    """Count the attempt and read what to send; a status string when there is nothing to do."""
    async with runtime.sessionmaker() as session:
        row = await session.get(AlertDelivery, delivery_id, with_for_update=True)
        if row is None:
            return None  # its alert was deleted
        if row.status != DeliveryStatus.PENDING:
            return row.status  # e.g. a stalled job run again after it had finished
        alert = await session.get(Alert, row.alert_id)
        row.attempts += 1
        row.last_attempt_at = datetime.now(UTC)
        planned = _Planned(row.channel, row.payload, row.organization_id)
        problem = _plan(runtime.settings, row, alert, planned)
        if problem is not None:
            _finish(row, problem, retry=False)
        await session.commit()
        return row.status if problem is not None else planned


def _plan(
    settings: Settings, row: AlertDelivery, alert: Alert | None, planned: _Planned
) -> DeliveryError | None:
    """Fill in the channel's target now: an alert's URL or secret may change between attempts."""
    if alert is None:
        return DeliveryError("the alert no longer exists", permanent=True)
    if not alert.active and not row.test:
        return DeliveryError("the alert was switched off", permanent=True)
    if row.channel == WEBHOOK:
        if not alert.webhook_url or not alert.webhook_secret:
            return DeliveryError("the alert no longer has a webhook", permanent=True)
        try:
            planned.secret = keyring_from(settings).open(
                alert.webhook_secret, alert.organization_id
            )
        except SecretError as exc:
            return DeliveryError(f"the webhook secret cannot be opened: {exc}", permanent=True)
        planned.url = row.target = alert.webhook_url
        return None
    if not alert.emails:
        return DeliveryError("the alert no longer has e-mail recipients", permanent=True)
    planned.recipients = list(alert.emails)
    row.target = ", ".join(alert.emails)
    return None


def _finish(row: AlertDelivery, outcome: DeliveryError | int | str | None, *, retry: bool) -> None:
    """Record an attempt's outcome: sent, pending (retry scheduled) or failed."""
    now = datetime.now(UTC)
    if not isinstance(outcome, DeliveryError):
        row.status, row.sent_at, row.next_attempt_at = DeliveryStatus.SENT, now, None
        if isinstance(outcome, int):
            row.response_status = outcome
        elif outcome:
            row.last_error = outcome
        return
    row.last_error, row.response_status = outcome.message, outcome.status
    if retry and not outcome.permanent and row.attempts < MAX_ATTEMPTS:
        row.next_attempt_at = now + timedelta(seconds=RETRY_BASE_SECONDS**row.attempts)
    else:
        row.status, row.next_attempt_at = DeliveryStatus.FAILED, None


async def _send(runtime: Runtime, planned: _Planned, delivery_id: uuid.UUID) -> int | str | None:
    if planned.channel == WEBHOOK:
        assert planned.url is not None
        assert planned.secret is not None
        timeout = runtime.settings.webhook_timeout_seconds
        return await post_webhook(
            planned.url,
            planned.secret,
            planned.payload,
            delivery_id,
            timeout,
            EgressPolicy.from_settings(runtime.settings),
        )
    message = mail(runtime.settings, planned.recipients or [], planned.payload, delivery_id)
    return await send_mail(runtime.settings, message)


async def attempt(runtime: Runtime, delivery_id: uuid.UUID, *, retry: bool = True) -> str | None:
    """Make one attempt of a delivery and log it; returns the status after it (None: gone).

    ``pending`` afterwards means another attempt is due (the caller's job raises to be retried).
    ``retry=False`` (test sends, a job's last run) makes a failed attempt final.
    """
    planned = await _begin(runtime, delivery_id)
    if not isinstance(planned, _Planned):
        return planned
    outcome: DeliveryError | int | str | None
    try:
        outcome = await _send(runtime, planned, delivery_id)
    except DeliveryError as exc:
        outcome = exc
    except Exception as exc:
        log.exception("delivery %s: unexpected error", delivery_id)
        outcome = DeliveryError(f"internal error ({type(exc).__name__}); see the logs")
    async with runtime.sessionmaker() as session:
        row = await session.get(AlertDelivery, delivery_id, with_for_update=True)
        if row is None:
            return None
        _finish(row, outcome, retry=retry)
        await session.commit()
        if row.status == DeliveryStatus.FAILED:
            log.warning(
                "delivery %s (%s) failed for good: %s", delivery_id, row.channel, row.last_error
            )
        return row.status
