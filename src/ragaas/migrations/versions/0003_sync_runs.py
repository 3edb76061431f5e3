"""Data-source sync: run history, schedule and sync state, external ids unique per source

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_runs",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "organization_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "data_source_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("data_sources.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("counts", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("errors", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_sync_runs_organization_id", "sync_runs", ["organization_id"])
    op.create_index("ix_sync_runs_data_source_id", "sync_runs", ["data_source_id", "created_at"])
    op.add_column("data_sources", sa.Column("next_sync_at", sa.DateTime(timezone=True)))
    op.create_index("ix_data_sources_next_sync_at", "data_sources", ["next_sync_at"])
    op.add_column(
        "data_sources",
        sa.Column("sync_state", postgresql.JSONB(), nullable=False, server_default="{}"),
    )
    # Two sources may both have an item "42": external ids are unique within a source.
    op.execute("DROP INDEX uq_documents_organization_id_external_id")
    op.execute(
        "CREATE UNIQUE INDEX uq_documents_source_external_id ON documents "
        "(organization_id, data_source_id, external_id) NULLS NOT DISTINCT "
        "WHERE external_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX uq_documents_source_external_id")
    op.execute(
        "CREATE UNIQUE INDEX uq_documents_organization_id_external_id ON documents "
        "(organization_id, external_id) WHERE external_id IS NOT NULL"
    )
    op.drop_column("data_sources", "sync_state")
    op.drop_index("ix_data_sources_next_sync_at", "data_sources")
    op.drop_column("data_sources", "next_sync_at")
    op.drop_table("sync_runs")
