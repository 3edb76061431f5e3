"""Users carry groups (e.g. "hr") that rule conditions see; sd_connections gives way to
servicedesk data sources (their connection strings sealed, their syncs recorded)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN groups varchar(100)[] NOT NULL DEFAULT '{}'")
    rows = op.get_bind().execute(sa.text("SELECT count(*) FROM sd_connections")).scalar()
    if rows:
        # Their plain-text connection strings need the secrets keyring to move; do it by hand.
        raise RuntimeError(
            f"sd_connections holds {rows} rows: re-create them as `servicedesk` data sources "
            "(POST /v1/data-sources), delete them, then migrate again"
        )
    op.drop_table("sd_connections")


def downgrade() -> None:
    op.create_table(
        "sd_connections",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "organization_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("db_type", sa.String(20), nullable=False),
        sa.Column("connection", sa.Text(), nullable=False),
        sa.Column("table_mappings", postgresql.JSONB(), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.execute("ALTER TABLE users DROP COLUMN groups")
