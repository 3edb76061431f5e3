"""Single sign-on: organisations' OpenID Connect providers, the identities they signed in,
and a display name on users

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _tenant_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "organization_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.add_column("users", sa.Column("name", sa.String(200)))
    op.create_table(
        "sso_providers",
        *_tenant_columns(),
        sa.Column("slug", sa.String(63), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("client_id", sa.String(500), nullable=False),
        sa.Column("client_secret", sa.Text()),
        sa.Column("scopes", postgresql.ARRAY(sa.String(100)), nullable=False),
        sa.Column("groups_claim", sa.String(200), nullable=False),
        sa.Column("group_roles", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("default_role", sa.String(20)),
        sa.Column(
            "allowed_domains", postgresql.ARRAY(sa.String(253)), nullable=False, server_default="{}"
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default="true"),
    )
    op.create_table(
        "sso_identities",
        *_tenant_columns(),
        sa.Column(
            "provider_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("sso_providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("provider_id", "subject"),
    )


def downgrade() -> None:
    op.drop_table("sso_identities")
    op.drop_table("sso_providers")
    op.drop_column("users", "name")
