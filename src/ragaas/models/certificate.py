"""Deployment certificates (public ACME ones and the internal mTLS set), keys sealed at rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ragaas.models.base import Base, Timestamped, UUIDPk


class CertificateKind:
    ACME = "acme"  # public endpoint, issued and renewed over ACME
    INTERNAL_CA = "internal-ca"  # the private CA of nginx <-> API mTLS
    INTERNAL_SERVER = "internal-server"  # the API's server certificate
    INTERNAL_CLIENT = "internal-client"  # nginx's client certificate


class Certificate(UUIDPk, Timestamped, Base):
    """One certificate with its chain and its private key, sealed with the secret keyring.

    Not tenant-owned: these belong to the deployment. The private key (and the ACME account
    key) are sealed with the row's id as associated data, so a sealed key moved to another row
    does not open.
    """

    __tablename__ = "certificates"
    __table_args__ = (CheckConstraint("key_sealed LIKE 'enc:v1:%'", name="key_sealed"),)

    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    domains: Mapped[list[str]] = mapped_column(ARRAY(String(253)), default=list)
    cert_pem: Mapped[str] = mapped_column(Text)  # the certificate, then its chain
    key_sealed: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(500))
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    acme_directory: Mapped[str | None] = mapped_column(String(500))
    acme_email: Mapped[str | None] = mapped_column(String(320))
    acme_account_url: Mapped[str | None] = mapped_column(String(500))
    acme_account_key_sealed: Mapped[str | None] = mapped_column(Text)
    # How the http-01 challenge was answered, reused on renewal: {"webroot": ...} or {"port": ...}
    acme_challenge: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    renew_attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    renew_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
