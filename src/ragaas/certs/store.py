"""The certificate store: PEM chains in PostgreSQL, private keys sealed with the secret keyring."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.errors import Conflict
from ragaas.models import Certificate, CertificateKind
from ragaas.sources.crypto import Keyring, SecretError

# Names are also relative paths when written out ("public", "mtls/server"): no "..", no "/" ends.
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}(/[a-z0-9][a-z0-9._-]{0,62})?$")
MTLS_NAMES = {
    CertificateKind.INTERNAL_CA: "mtls/ca",
    CertificateKind.INTERNAL_SERVER: "mtls/server",
    CertificateKind.INTERNAL_CLIENT: "mtls/client",
}


@dataclass(frozen=True)
class AcmeInfo:
    """Where an ACME certificate came from, kept to renew it the same way."""

    directory: str
    email: str | None
    account_url: str
    account_key_pem: bytes
    challenge: dict[str, Any]


def check_name(name: str) -> str:
    if not NAME.match(name) or ".." in name:
        raise ValueError(
            f"certificate name {name!r}: lower-case letters, digits, '.', '_', '-' "
            "(at most one '/')"
        )
    return name


def load_chain(pem: str) -> list[x509.Certificate]:
    """The certificates of a PEM chain, leaf first; a clear error when there are none."""
    try:
        chain = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise ValueError(f"not a PEM certificate chain: {exc}") from exc
    return chain


def dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    addresses = san.get_values_for_type(x509.IPAddress)
    return [*san.get_values_for_type(x509.DNSName), *map(str, addresses)]


def _describe(row: Certificate, pem: str) -> None:
    leaf = load_chain(pem)[0]
    row.cert_pem = pem
    row.serial = format(leaf.serial_number, "x")
    row.issuer = leaf.issuer.rfc4514_string()[:500]
    row.not_before = leaf.not_valid_before_utc
    row.not_after = leaf.not_valid_after_utc
    row.domains = dns_names(leaf)


async def get(session: AsyncSession, name: str, *, for_update: bool = False) -> Certificate | None:
    statement = select(Certificate).where(Certificate.name == name)
    if for_update:
        statement = statement.with_for_update()
    found: Certificate | None = await session.scalar(statement)
    return found


async def all_certificates(session: AsyncSession) -> Sequence[Certificate]:
    return (await session.scalars(select(Certificate).order_by(Certificate.name))).all()


async def save(
    session: AsyncSession,
    keyring: Keyring,
    *,
    name: str,
    kind: str,
    cert_pem: str,
    key_pem: bytes,
    acme: AcmeInfo | None = None,
) -> Certificate:
    """Insert or replace the certificate called ``name`` (its key sealed to the row)."""
    row = await get(session, check_name(name), for_update=True)
    if row is None:
        row = Certificate(id=uuid.uuid4(), name=name)
        session.add(row)
    row.kind = kind
    _describe(row, cert_pem)
    row.key_sealed = keyring.seal(key_pem.decode(), row.id)
    if acme is not None:
        row.acme_directory = acme.directory
        row.acme_email = acme.email
        row.acme_account_url = acme.account_url
        row.acme_account_key_sealed = keyring.seal(acme.account_key_pem.decode(), row.id)
        row.acme_challenge = acme.challenge
    row.renew_error = None
    row.updated_at = datetime.now(UTC)
    await session.flush()
    return row


def private_key_pem(keyring: Keyring, row: Certificate) -> bytes:
    """The row's private key in clear (raises SecretError when it does not open)."""
    return keyring.open(row.key_sealed, row.id).encode()


def account_key_pem(keyring: Keyring, row: Certificate) -> bytes | None:
    if row.acme_account_key_sealed is None:
        return None
    return keyring.open(row.acme_account_key_sealed, row.id).encode()


async def reseal_all(session: AsyncSession, keyring: Keyring) -> int:
    """Re-seal every certificate key under the keyring's current key; returns how many changed."""
    changed = 0
    for row in await session.scalars(select(Certificate).with_for_update()):
        for field in ("key_sealed", "acme_account_key_sealed"):
            value: str | None = getattr(row, field)
            if value is None or keyring.key_id_of(value) == keyring.current:
                continue
            try:
                setattr(row, field, keyring.seal(keyring.open(value, row.id), row.id))
            except SecretError as exc:
                # All or nothing: the caller's transaction is rolled back.
                raise Conflict(f"certificate {row.name}: {exc}; nothing was re-sealed") from exc
            changed += 1
    await session.flush()
    return changed
