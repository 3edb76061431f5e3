"""Authentication on the request's own connection: two SECURITY DEFINER lookups

Until now a request authenticated on a second, owner connection (the restricted role cannot see a
key or a user before its organisation is declared) and then declared the organisation on its own
connection: two connections and four statements before any work. These functions run as the
tables' owner, so the restricted role finds the credential it *presents*, and, only when it is
valid, they declare its organisation for the transaction: one statement.

They reveal nothing without the credential: a key is found only by its prefix *and* the SHA-256 of
the whole key (256 random bits); a user only by an id from an access token whose signature the API
verified first, and then only its identity, never a password hash.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_KEY = """
CREATE FUNCTION ragaas_authenticate_key(p_prefix text, p_key_hash text)
RETURNS TABLE (
    key_id uuid, scopes text[], revoked_at timestamptz, expires_at timestamptz,
    last_used_at timestamptz, user_id uuid, organization_id uuid, role text, active boolean,
    email text, groups text[]
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    RETURN QUERY
        SELECT k.id, k.scopes::text[], k.revoked_at, k.expires_at, k.last_used_at, u.id,
               u.organization_id, u.role::text, u.active, u.email::text, u.groups::text[]
        FROM api_keys k JOIN users u ON u.id = k.user_id
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
    tokens_revoked_at timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    RETURN QUERY
        SELECT u.id, u.organization_id, u.role::text, u.active, u.email::text, u.groups::text[],
               u.tokens_revoked_at
        FROM users u WHERE u.id = p_user_id AND u.organization_id = p_organization_id;
    IF FOUND THEN
        PERFORM set_config('ragaas.organization_id', u.organization_id::text, true)
        FROM users u
        WHERE u.id = p_user_id AND u.active
          AND (u.tokens_revoked_at IS NULL OR p_issued_at >= u.tokens_revoked_at);
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute(_KEY)
    op.execute(_USER)
    for function in (
        "ragaas_authenticate_key(text, text)",
        "ragaas_authenticate_user(uuid, uuid, timestamptz)",
    ):
        # Owner-only by default; the API's role gets it through 0011's default privileges, and
        # explicitly here for servers where the role was created by an administrator later.
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'ragaas_api') THEN "
            f"GRANT EXECUTE ON FUNCTION {function} TO ragaas_api; END IF; END $$"
        )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS ragaas_authenticate_user(uuid, uuid, timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS ragaas_authenticate_key(text, text)")
