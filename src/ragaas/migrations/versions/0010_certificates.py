"""Certificates: public (ACME) and internal mTLS certificates with sealed private keys

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Deployment-level, not tenant-owned: no organization_id. Private keys and ACME account keys are
stored sealed (AES-256-GCM, the RAGAAS_SECRET_KEYS keyring), never in clear.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("domains", postgresql.ARRAY(sa.String(253)), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("key_sealed", sa.Text(), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acme_directory", sa.String(500)),
        sa.Column("acme_email", sa.String(320)),
        sa.Column("acme_account_url", sa.String(500)),
        sa.Column("acme_account_key_sealed", sa.Text()),
        sa.Column("acme_challenge", postgresql.JSONB()),
        sa.Column("renew_attempted_at", sa.DateTime(timezone=True)),
        sa.Column("renew_error", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("name", name="uq_certificates_name"),
        sa.CheckConstraint("key_sealed LIKE 'enc:v1:%'", name="ck_certificates_key_sealed"),
    )
    op.create_index("ix_certificates_not_after", "certificates", ["not_after"])


def downgrade() -> None:
    op.drop_table("certificates")
