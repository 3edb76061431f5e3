"""Notifications: alert rules per organisation and the log of their deliveries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _organization() -> sa.Column[Any]:
    return sa.Column(
        "organization_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    )


def _created_at() -> sa.Column[Any]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        _organization(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("threshold", sa.Float()),
        sa.Column("window_minutes", sa.Integer()),
        sa.Column("min_events", sa.Integer()),
        sa.Column(
            "source_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("data_sources.id", ondelete="CASCADE"),
        ),
        sa.Column("rule_name", sa.String(200)),
        sa.Column("webhook_url", sa.String(2000)),
        sa.Column("webhook_secret", sa.Text()),
        sa.Column("emails", postgresql.ARRAY(sa.String(320)), nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("state", postgresql.JSONB(), nullable=False, server_default="{}"),
        _created_at(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_alerts_organization_id", "alerts", ["organization_id"])
    op.create_index("ix_alerts_organization_id_kind", "alerts", ["organization_id", "kind"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        _organization(),
        sa.Column(
            "alert_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target", sa.String(4000), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
        sa.Column("response_status", sa.Integer()),
        sa.Column("dedup_key", sa.String(300)),
        sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        _created_at(),
    )
    op.create_index("ix_alert_deliveries_organization_id", "alert_deliveries", ["organization_id"])
    op.create_index(
        "ix_alert_deliveries_alert_id_created_at", "alert_deliveries", ["alert_id", "created_at"]
    )
    op.create_index(
        "uq_alert_deliveries_dedup",
        "alert_deliveries",
        ["alert_id", "channel", "dedup_key"],
        unique=True,
        postgresql_where=sa.text("dedup_key IS NOT NULL"),
    )
    # The error_rate check counts an organisation's documents finished in the last minutes.
    op.execute(
        "CREATE INDEX ix_documents_organization_id_updated_at "
        "ON documents (organization_id, updated_at DESC)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_documents_organization_id_updated_at")
    op.drop_table("alert_deliveries")
    op.drop_table("alerts")
