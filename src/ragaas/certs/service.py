"""Issuing, renewing and writing out certificates: the use cases behind ``ragaas certs`` and the
renewal job."""

from __future__ import annotations

import asyncio
import logging
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ragaas.certs import store
from ragaas.certs.acme_flow import AcmeError, obtain
from ragaas.certs.challenge import Responder, StandaloneResponder, WebrootResponder
from ragaas.certs.files import PUBLIC_NAME, write_out
from ragaas.certs.pki import CertPaths
from ragaas.models import Certificate, CertificateKind
from ragaas.settings import Settings
from ragaas.sources.crypto import Keyring, SecretError, keyring_from

log = logging.getLogger(__name__)
RETRY_FAILED_AFTER = timedelta(hours=6)  # ACME CAs rate-limit failed validations per hour
RELOAD_TIMEOUT_SECONDS = 60


class CertificateError(Exception):
    """A certificate operation that cannot be done; the message is for the operator."""


@dataclass(frozen=True)
class IssueRequest:
    domains: list[str]
    email: str | None
    name: str = PUBLIC_NAME
    directory: str | None = None  # default: settings.acme_directory_url
    challenge: dict[str, Any] = field(default_factory=dict)  # {"webroot": DIR} or {"port": P}


@dataclass
class RenewReport:
    renewed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # failed recently, or renewed by another
    written: list[Path] = field(default_factory=list)


def challenge_from(settings: Settings, webroot: Path | None, port: int | None) -> dict[str, Any]:
    """The http-01 method: a flag wins, then RAGAAS_ACME_WEBROOT, then the built-in server."""
    if webroot is not None and port is not None:
        raise CertificateError("give either a webroot or an HTTP port for http-01, not both")
    if webroot is not None:
        return {"webroot": str(webroot.resolve())}
    if port is not None:
        return {"port": port}
    if settings.acme_webroot is not None:
        return {"webroot": str(settings.acme_webroot.resolve())}
    return {"port": settings.acme_http_port}


def responder_for(challenge: dict[str, Any]) -> Responder:
    if "webroot" in challenge:
        return WebrootResponder(Path(challenge["webroot"]))
    return StandaloneResponder(int(challenge.get("port", 80)))


async def _obtain(
    settings: Settings, request: IssueRequest, account_key: bytes | None
) -> tuple[str, bytes, store.AcmeInfo]:
    directory = request.directory or settings.acme_directory_url
    got = await asyncio.to_thread(
        obtain,
        directory,
        request.domains,
        responder_for(request.challenge),
        email=request.email,
        account_key_pem=account_key,
        ca_bundle=settings.acme_ca_bundle,
    )
    info = store.AcmeInfo(
        directory, request.email, got.account.url, got.account.key_pem, request.challenge
    )
    return got.fullchain_pem, got.key_pem, info


async def _known_account_key(
    session: AsyncSession, keyring: Keyring, directory: str, email: str | None
) -> bytes | None:
    """An account key already used with this CA and contact: CAs limit new accounts."""
    rows = await session.scalars(
        select(Certificate).where(
            Certificate.acme_directory == directory,
            Certificate.acme_email.is_not_distinct_from(email),
            Certificate.acme_account_key_sealed.is_not(None),
        )
    )
    for row in rows:
        return store.account_key_pem(keyring, row)
    return None


async def issue(session: AsyncSession, settings: Settings, request: IssueRequest) -> Certificate:
    """Get a certificate over ACME for ``request.domains`` and store it (the caller commits)."""
    if not request.domains:
        raise CertificateError("give at least one domain")
    try:
        store.check_name(request.name)
    except ValueError as exc:
        raise CertificateError(str(exc)) from exc
    keyring = keyring_from(settings)
    directory = request.directory or settings.acme_directory_url
    existing = await store.get(session, request.name)
    if existing is not None and existing.kind != CertificateKind.ACME:
        raise CertificateError(f"{request.name!r} is an internal certificate, not an ACME one")
    account_key = await _known_account_key(session, keyring, directory, request.email)
    try:
        chain, key, info = await _obtain(settings, request, account_key)
    except AcmeError as exc:
        raise CertificateError(str(exc)) from exc
    return await store.save(
        session, keyring, name=request.name, kind=CertificateKind.ACME,
        cert_pem=chain, key_pem=key, acme=info,
    )  # fmt: skip


def _due(days: int, now: datetime) -> Any:
    return (Certificate.kind == CertificateKind.ACME) & (
        Certificate.not_after <= now + timedelta(days=days)
    )


async def _renew_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    name: str,
    days: int,
    now: datetime,
    *,
    force: bool,
) -> bool:
    """Renew one certificate under a row lock (another renewer skips it); False if not due."""
    keyring = keyring_from(settings)
    async with sessionmaker() as session:
        conditions = [Certificate.name == name, _due(days, now)]
        if not force:
            conditions.append(
                or_(
                    Certificate.renew_error.is_(None),
                    Certificate.renew_attempted_at < now - RETRY_FAILED_AFTER,
                )
            )
        row = await session.scalar(
            select(Certificate).where(*conditions).with_for_update(skip_locked=True)
        )
        if row is None:
            return False
        request = IssueRequest(
            domains=list(row.domains), email=row.acme_email, name=row.name,
            directory=row.acme_directory, challenge=dict(row.acme_challenge or {}),
        )  # fmt: skip
        row.renew_attempted_at = now
        try:
            chain, key, info = await _obtain(settings, request, store.account_key_pem(keyring, row))
        except (AcmeError, SecretError) as exc:
            row.renew_error = str(exc)[:2000]
            await session.commit()
            raise CertificateError(str(exc)) from exc
        await store.save(
            session, keyring, name=row.name, kind=CertificateKind.ACME,
            cert_pem=chain, key_pem=key, acme=info,
        )  # fmt: skip
        await session.commit()
        return True


async def renew_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    days: int | None = None,
    now: datetime | None = None,
    force: bool = False,
) -> RenewReport:
    """Renew every ACME certificate expiring within ``days``, each in its own transaction.

    One failing certificate does not stop the others; a failed one is retried after
    RETRY_FAILED_AFTER unless ``force`` (an operator's explicit `ragaas certs renew`).
    """
    days = settings.cert_renew_days if days is None else days
    now = now or datetime.now(UTC)
    async with sessionmaker() as session:
        names = list(
            await session.scalars(select(Certificate.name).where(_due(days, now)).order_by("name"))
        )
    report = RenewReport()
    for name in names:
        try:
            if await _renew_one(sessionmaker, settings, name, days, now, force=force):
                report.renewed.append(name)
            else:
                report.skipped.append(name)
        except CertificateError as exc:
            log.warning("renewing certificate %s failed: %s", name, exc)
            report.failed[name] = str(exc)
    return report


async def write_all(session: AsyncSession, settings: Settings, directory: Path) -> list[Path]:
    """Write every stored certificate under ``directory`` (see ragaas.certs.files)."""
    rows = await store.all_certificates(session)
    try:
        return write_out(rows, keyring_from(settings), directory)
    except SecretError as exc:
        raise CertificateError(f"a stored key does not open: {exc}") from exc


def run_reload(command: str) -> None:
    """Run the reload command (e.g. ``nginx -s reload``); raises with its output if it fails."""
    try:
        # The operator's own command from settings or the CLI, split without a shell.
        done = subprocess.run(  # noqa: S603
            shlex.split(command),
            capture_output=True,
            text=True,
            timeout=RELOAD_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CertificateError(f"reload command {command!r} failed: {exc}") from exc
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-500:]
        raise CertificateError(f"reload command {command!r} exited {done.returncode}: {output}")


async def store_mtls(session: AsyncSession, settings: Settings, paths: CertPaths) -> None:
    """Keep the internal mTLS set written by ``ragaas certs init`` in the store."""
    keyring = keyring_from(settings)
    for kind, cert, key in (
        (CertificateKind.INTERNAL_CA, paths.ca_cert, paths.ca_key),
        (CertificateKind.INTERNAL_SERVER, paths.server_cert, paths.server_key),
        (CertificateKind.INTERNAL_CLIENT, paths.client_cert, paths.client_key),
    ):
        await store.save(
            session, keyring, name=store.MTLS_NAMES[kind], kind=kind,
            cert_pem=cert.read_text(), key_pem=key.read_bytes(),
        )  # fmt: skip


async def stored_mtls(session: AsyncSession) -> Sequence[Certificate]:
    rows = await session.scalars(
        select(Certificate).where(Certificate.name.in_(store.MTLS_NAMES.values()))
    )
    return rows.all()


async def renew_and_deploy(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    days: int | None = None,
    force: bool = False,
    out: Path | None = None,
    reload_command: str | None = None,
) -> RenewReport:
    """Renew what is due; if anything was renewed, write every certificate out and reload."""
    report = await renew_due(sessionmaker, settings, days=days, force=force)
    if report.renewed:
        async with sessionmaker() as session:
            report.written = await write_all(session, settings, out or settings.certificate_dir())
        command = reload_command or settings.cert_reload_command
        if command:
            await asyncio.to_thread(run_reload, command)
    return report
