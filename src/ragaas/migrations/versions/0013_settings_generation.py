"""Per-organisation settings generation: query-time settings cached in each API process, exactly

Every query request read the organisation's quota overrides, its RAG configuration and its active
rules: three statements that almost never change. ``organizations.settings_generation`` is bumped
by triggers in the same transaction as any change to them (rules, rag_configs, the quota columns);
the authentication lookups return it, and an API process reuses what it read for the same
(organisation, generation) — so a change applies to the very next request, in every process, with
no invalidation messages. Same pattern as the lexical index generation (0006).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_BUMP = """
CREATE FUNCTION ragaas_bump_settings_generation() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE organizations SET settings_generation = settings_generation + 1
        WHERE id = OLD.organization_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.organization_id <> OLD.organization_id) THEN
        UPDATE organizations SET settings_generation = settings_generation + 1
        WHERE id = NEW.organization_id;
    END IF;
    RETURN NULL;
END
$$
"""

_QUOTA_BUMP = """
CREATE FUNCTION ragaas_bump_quota_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.settings_generation := OLD.settings_generation + 1;
    RETURN NEW;
END
$$
"""

_QUOTA_TRIGGER = """
CREATE TRIGGER organizations_quota_generation BEFORE UPDATE ON organizations FOR EACH ROW
WHEN (OLD.max_documents IS DISTINCT FROM NEW.max_documents
      OR OLD.max_storage_bytes IS DISTINCT FROM NEW.max_storage_bytes
      OR OLD.max_queries_per_day IS DISTINCT FROM NEW.max_queries_per_day)
EXECUTE FUNCTION ragaas_bump_quota_generation()
"""

SETTINGS_TABLES = ("rules", "rag_configs")

_KEY = """
CREATE FUNCTION ragaas_authenticate_key(p_prefix text, p_key_hash text)
RETURNS TABLE (
    key_id uuid, scopes text[], revoked_at timestamptz, expires_at timestamptz,
    last_used_at timestamptz, user_id uuid, organization_id uuid, role text, active boolean,
    email text, groups text[], settings_generation bigint
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    RETURN QUERY
        SELECT k.id, k.scopes::text[], k.revoked_at, k.expires_at, k.last_used_at, u.id,
               u.organization_id, u.role::text, u.active, u.email::text, u.groups::text[],
               o.settings_generation
        FROM api_keys k JOIN users u ON u.id = k.user_id
        JOIN organizations o ON o.id = k.organization_id
        WHERE k.prefix = p_prefix AND k.key_hash = p_key_hash
          AND u.organization_id = k.organization_id;
    IF FOUND THEN
        PERFORM set_config('ragaas.organization_id', k.organization_id::text, true)
        FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.prefix = p_prefix AND k.key_hash = p_key_hash AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now()) AND u.active;
    END IF;
END
$$
"""

_USER = """
CREATE FUNCTION ragaas_authenticate_user(
    p_user_id uuid, p_organization_id uuid, p_issued_at timestamptz
)
RETURNS TABLE (
    user_id uuid, organization_id uuid, role text, active boolean, email text, groups text[],
    tokens_revoked_at timestamptz, settings_generation bigint
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    RETURN QUERY
        SELECT u.id, u.organization_id, u.role::text, u.active, u.email::text, u.groups::text[],
               u.tokens_revoked_at, o.settings_generation
        FROM users u JOIN organizations o ON o.id = u.organization_id
        WHERE u.id = p_user_id AND u.organization_id = p_organization_id;
    IF FOUND THEN
        PERFORM set_config('ragaas.organization_id', u.organization_id::text, true)
        FROM users u
        WHERE u.id = p_user_id AND u.active
          AND (u.tokens_revoked_at IS NULL OR p_issued_at >= u.tokens_revoked_at);
    END IF;
END
$$
"""


def _grant(function: str) -> None:
    op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'ragaas_api') THEN "
        f"GRANT EXECUTE ON FUNCTION {function} TO ragaas_api; END IF; END $$"
    )


def upgrade() -> None:
    op.execute("ALTER TABLE organizations ADD COLUMN settings_generation bigint NOT NULL DEFAULT 0")
    op.execute(_BUMP)
    for table in SETTINGS_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_settings_generation AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION ragaas_bump_settings_generation()"
        )
    op.execute(_QUOTA_BUMP)
    op.execute(_QUOTA_TRIGGER)
    # The lookups now also return the generation (a new result type: drop, then create).
    op.execute("DROP FUNCTION ragaas_authenticate_key(text, text)")
    op.execute("DROP FUNCTION ragaas_authenticate_user(uuid, uuid, timestamptz)")
    op.execute(_KEY)
    op.execute(_USER)
    _grant("ragaas_authenticate_key(text, text)")
    _grant("ragaas_authenticate_user(uuid, uuid, timestamptz)")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS organizations_quota_generation ON organizations")
    op.execute("DROP FUNCTION IF EXISTS ragaas_bump_quota_generation()")
    for table in SETTINGS_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_settings_generation ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ragaas_bump_settings_generation()")
    op.execute("DROP FUNCTION IF EXISTS ragaas_authenticate_user(uuid, uuid, timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS ragaas_authenticate_key(text, text)")
    op.execute("ALTER TABLE organizations DROP COLUMN settings_generation")
    # 0012's lookups again (its module, by path: migration files are not a package).
    path = Path(__file__).with_name("0012_authenticate_in_request.py")
    spec = importlib.util.spec_from_file_location("ragaas_migration_0012", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    op.execute(previous._KEY)
    op.execute(previous._USER)
    _grant("ragaas_authenticate_key(text, text)")
    _grant("ragaas_authenticate_user(uuid, uuid, timestamptz)")
