"""The certificate store without an ACME server: sealing, failed renewals, key rotation, the
renewal job's schedule and writing out at start."""

from __future__ import annotations

import asyncio
import socket
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import delete, select

from ragaas.certs import service, store
from ragaas.certs.pki import create_ca, issue_leaf
from ragaas.cli.certs import write_at_start
from ragaas.cli.common import database_session
from ragaas.models import Certificate, CertificateKind
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from ragaas.sources.crypto import Keyring, SecretError, keyring_from, new_key_spec


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more


@pytest.fixture
async def acme_row(settings: Settings, runtime: Runtime) -> AsyncIterator[str]:
    """An ACME certificate expiring in 10 days whose CA cannot be reached."""
    name = f"unreachable-{uuid.uuid4().hex[:8]}"
    leaf = issue_leaf(create_ca(), "example.test", server=True, names=["example.test"], days=10)
    info = store.AcmeInfo(
        directory=f"https://127.0.0.1:{_closed_port()}/dir",
        email=None,
        account_url="https://127.0.0.1/acct/1",
        account_key_pem=leaf.key_pem(),
        challenge={"port": _closed_port()},
    )
    async with runtime.sessionmaker() as session:
        await store.save(
            session, keyring_from(settings), name=name, kind=CertificateKind.ACME,
            cert_pem=leaf.cert_pem().decode(), key_pem=leaf.key_pem(), acme=info,
        )  # fmt: skip
        await session.commit()
    yield name
    async with runtime.sessionmaker() as session:
        await session.execute(delete(Certificate).where(Certificate.name == name))
        await session.commit()


async def test_a_failed_renewal_is_recorded_and_not_retried_at_once(
    settings: Settings, runtime: Runtime, acme_row: str
) -> None:
    first = await service.renew_due(runtime.sessionmaker, settings, days=30)
    assert acme_row in first.failed
    assert "ACME at https://127.0.0.1:" in first.failed[acme_row]
    async with runtime.sessionmaker() as session:
        row = await store.get(session, acme_row)
        assert row is not None
        assert row.renew_error is not None
        assert row.renew_attempted_at is not None

    # The hourly job leaves it alone for a while (CAs rate-limit failed validations)...
    second = await service.renew_due(runtime.sessionmaker, settings, days=30)
    assert acme_row in second.skipped
    assert acme_row not in second.failed
    # ...an operator's explicit `ragaas certs renew` tries again.
    forced = await service.renew_due(runtime.sessionmaker, settings, days=30, force=True)
    assert acme_row in forced.failed
    # Not due with a 5-day margin: not even looked at.
    later = await service.renew_due(runtime.sessionmaker, settings, days=5, force=True)
    assert acme_row not in later.failed
    assert acme_row not in later.skipped


async def test_keys_are_sealed_to_their_row_and_reseal_under_a_new_key(
    settings: Settings, runtime: Runtime, acme_row: str
) -> None:
    keyring = keyring_from(settings)
    async with runtime.sessionmaker() as session:
        row = await store.get(session, acme_row)
        assert row is not None
        key = store.private_key_pem(keyring, row)
        assert b"PRIVATE KEY" in key
        assert b"PRIVATE KEY" not in row.key_sealed.encode()
        other = Certificate(id=uuid.uuid4(), key_sealed=row.key_sealed)
        with pytest.raises(SecretError):
            store.private_key_pem(keyring, other)

        rotated = Keyring.parse(f"{new_key_spec('k-new')},{_spec(keyring)}")
        changed = await store.reseal_all(session, rotated)
        assert changed >= 2  # the certificate key and the ACME account key, at least
        assert rotated.key_id_of(row.key_sealed) == "k-new"
        assert row.acme_account_key_sealed is not None
        assert rotated.key_id_of(row.acme_account_key_sealed) == "k-new"
        only_new = Keyring({"k-new": rotated.keys["k-new"]}, "k-new")
        assert store.private_key_pem(only_new, row) == key
        await session.rollback()  # the session keyring stays the one the other tests use


def _spec(keyring: Keyring) -> str:
    import base64

    return ",".join(
        f"{kid}:{base64.urlsafe_b64encode(key).decode().rstrip('=')}"
        for kid, key in keyring.keys.items()
    )


def test_renewal_runs_hourly_in_the_workers(runtime: Runtime) -> None:
    periodic = runtime.jobs.periodic_registry.periodic_tasks
    (task,) = [p for (name, _), p in periodic.items() if name == "certs.renew"]
    assert task.cron == "17 * * * *"


def test_serve_writes_the_stored_certificates_at_start(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"mtls-{uuid.uuid4().hex[:6]}/server"
    leaf = issue_leaf(create_ca(), "api", server=True, names=["api"])
    assert settings.database_url is not None
    url = settings.database_url

    async def save() -> None:
        async with database_session(url) as session:
            await store.save(
                session, keyring_from(settings), name=name, kind=CertificateKind.INTERNAL_SERVER,
                cert_pem=leaf.cert_pem().decode(), key_pem=leaf.key_pem(),
            )  # fmt: skip
            await session.commit()

    async def remove() -> None:
        async with database_session(url) as session:
            await session.execute(delete(Certificate).where(Certificate.name == name))
            await session.commit()

    asyncio.run(save())
    try:
        target = tmp_path / "written"
        write_at_start(settings.model_copy(update={"cert_dir": target}))
        key_file = target / f"{name}.key"
        assert (target / f"{name}.pem").read_bytes() == leaf.cert_pem()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = serialization.load_pem_private_key(key_file.read_bytes(), None)
        assert key.public_key() == leaf.cert.public_key()

        # A directory that cannot be written is a warning, not a server that will not start.
        blocked = tmp_path / "file-not-dir"
        blocked.write_text("x")
        capsys.readouterr()
        write_at_start(settings.model_copy(update={"cert_dir": blocked}))
        assert "warning: stored certificates not written" in capsys.readouterr().err
    finally:
        asyncio.run(remove())


async def test_names_cannot_escape_the_output_directory(
    settings: Settings, runtime: Runtime
) -> None:
    leaf = issue_leaf(create_ca(), "x.test", server=True, names=["x.test"])
    for bad in ("../etc", "a/../b", "/abs", "A", "a/b/c", ""):
        async with runtime.sessionmaker() as session:
            with pytest.raises(ValueError, match="certificate name"):
                await store.save(
                    session, keyring_from(settings), name=bad, kind=CertificateKind.ACME,
                    cert_pem=leaf.cert_pem().decode(), key_pem=leaf.key_pem(),
                )  # fmt: skip
            assert await session.scalar(select(Certificate).where(Certificate.name == bad)) is None
