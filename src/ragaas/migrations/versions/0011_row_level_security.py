"""Row-level security on every tenant-owned table, and the restricted role the API runs as

Each policy lets a row be seen or written only when its organisation is the one the transaction
declared with ``set_config('ragaas.organization_id', …, true)``, which the API does from the
authenticated principal (ragaas/tenancy/scope.py). Without a declared organisation nothing is
visible. The tables' owner (the role that runs migrations and background jobs) is exempt, as
PostgreSQL exempts table owners; the API's requests run as ``ragaas_api``: not the owner, no
BYPASSRLS, no DDL, so it can neither read around the policies nor switch them off.

The role is created here when the migrating role may create roles (the embedded server, a
superuser); otherwise an administrator creates it first (docs/security.md).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ROLE = "ragaas_api"
TENANT_TABLES = (
    "alert_deliveries",
    "alerts",
    "api_keys",
    "audit_events",
    "chunk_terms",
    "chunks",
    "data_sources",
    "documents",
    "lexical_stats",
    "query_history",
    "rag_configs",
    "refresh_tokens",
    "rules",
    "sso_identities",
    "sso_providers",
    "sync_runs",
    "users",
)

_CREATE_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '@ROLE@') THEN
        BEGIN
            CREATE ROLE @ROLE@ LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot create role @ROLE@: create it as an administrator '
                '(docs/security.md) and grant it to the migrating role';
            RETURN;
        END;
    END IF;
    -- The migrating role may then run API sessions as it (SET ROLE) when no separate URL is given.
    IF NOT pg_has_role(current_user, '@ROLE@', 'MEMBER') THEN
        EXECUTE format('GRANT @ROLE@ TO %I', current_user);
    END IF;
END
$$
"""

_GRANTS = """
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '@ROLE@') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO @ROLE@', current_database());
        GRANT USAGE ON SCHEMA public TO @ROLE@;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO @ROLE@;
        REVOKE ALL ON alembic_version FROM @ROLE@;
        GRANT SELECT ON alembic_version TO @ROLE@;
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO @ROLE@;
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO @ROLE@;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO @ROLE@;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO @ROLE@;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO @ROLE@;
    END IF;
END
$$
"""

_CURRENT_ORGANIZATION = """
CREATE FUNCTION ragaas_current_organization() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('ragaas.organization_id', true), '')::uuid
$$
"""


def _with_role(template: str) -> str:
    return template.replace("@ROLE@", ROLE)


def upgrade() -> None:
    op.execute(_with_role(_CREATE_ROLE))
    op.execute(_CURRENT_ORGANIZATION)
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (organization_id = ragaas_current_organization()) "
            "WITH CHECK (organization_id = ragaas_current_organization())"
        )
    op.execute("ALTER TABLE organizations ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON organizations "
        "USING (id = ragaas_current_organization()) "
        "WITH CHECK (id = ragaas_current_organization())"
    )
    op.execute(_with_role(_GRANTS))


def downgrade() -> None:
    for table in (*TENANT_TABLES, "organizations"):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS ragaas_current_organization()")
    op.execute(
        _with_role(
            """
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '@ROLE@') THEN
                REVOKE ALL ON ALL TABLES IN SCHEMA public FROM @ROLE@;
                REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM @ROLE@;
                REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM @ROLE@;
                REVOKE ALL ON SCHEMA public FROM @ROLE@;
                ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM @ROLE@;
                ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM @ROLE@;
                ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM @ROLE@;
                EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM @ROLE@', current_database());
            END IF;
        END
        $$
        """
        )
    )
