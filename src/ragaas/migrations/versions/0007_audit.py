"""Audit log: an append-only record of who changed what, when and from where

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

The table has no foreign keys on purpose: an audit row must outlive the user, key or
organisation it names. A trigger refuses every UPDATE, DELETE and TRUNCATE; the only way
to remove rows is ``audit_events_purge(interval)``, which deletes rows older than the given
age and never younger than 90 days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MIN_RETENTION = "90 days"  # also spelled out in audit_events_purge


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("organization_id", postgresql.UUID(as_uuid=True)),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("actor_kind", sa.String(20), nullable=False),
        sa.Column("actor_user_id", postgresql.UUID(as_uuid=True)),
        sa.Column("actor_api_key_id", postgresql.UUID(as_uuid=True)),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(50)),
        sa.Column("object_id", sa.String(200)),
        sa.Column("details", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("client_ip", sa.String(64)),
        sa.Column("user_agent", sa.String(500)),
    )
    op.create_index(
        "ix_audit_events_organization_id_occurred_at",
        "audit_events",
        ["organization_id", "occurred_at"],
    )
    op.create_index(
        "ix_audit_events_organization_id_action", "audit_events", ["organization_id", "action"]
    )
    op.execute(
        f"""
        CREATE FUNCTION audit_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE'
               AND current_setting('ragaas.audit_purge', true) = 'on'
               AND OLD.occurred_at < now() - interval '{MIN_RETENTION}' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        """
        CREATE FUNCTION audit_events_purge(older_than interval) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE removed bigint;
        BEGIN
            IF older_than < interval '90 days' THEN
                RAISE EXCEPTION 'audit events are kept at least 90 days';
            END IF;
            PERFORM set_config('ragaas.audit_purge', 'on', true);
            DELETE FROM audit_events WHERE occurred_at < now() - older_than;
            GET DIAGNOSTICS removed = ROW_COUNT;
            PERFORM set_config('ragaas.audit_purge', 'off', true);
            RETURN removed;
        END $$;
        """
    )
    # Roles other than the owner get no way to change history, whatever else they are granted.
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_events_purge(interval)")
    op.drop_table("audit_events")
    op.execute("DROP FUNCTION audit_events_append_only()")
