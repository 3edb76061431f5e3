"""Abuse limits and sessions: organisation quotas, login throttling, refresh-token rotation

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

- ``organizations.max_*``: per-organisation quota overrides (NULL: the RAGAAS_QUOTA_* default,
  0: unlimited), and an index to count an organisation's queries of the day.
- ``login_failures``: failed logins per account and per client address, with the time until
  which each is blocked (used when Redis is not configured).
- ``refresh_tokens``: every issued refresh token (its JWT id), its family (one login), when it
  was used (rotated) or revoked; reuse of a used one revokes the whole family.
- ``users.tokens_revoked_at``: tokens issued before it are refused (password change, logout
  everywhere, disabling).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

QUOTA_COLUMNS = ("max_documents", "max_storage_bytes", "max_queries_per_day")


def upgrade() -> None:
    for column in QUOTA_COLUMNS:
        op.add_column("organizations", sa.Column(column, sa.BigInteger()))
    op.add_column("users", sa.Column("tokens_revoked_at", sa.DateTime(timezone=True)))
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "organization_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("family_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_refresh_tokens_organization_id", "refresh_tokens", ["organization_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("login_failures")
    op.drop_column("users", "tokens_revoked_at")
    for column in QUOTA_COLUMNS:
        op.drop_column("organizations", column)
