"""An index generation per organisation, bumped whenever what its searches can return changes

The search-result cache keys include it (see ragaas/cache/search.py), so a change to an
organisation's index makes its cached results unreachable at once. It lives on `lexical_stats`,
whose row the chunk statement triggers already lock and update on every chunk insert, update and
delete: bumping it there costs no extra lock. Documents get a statement trigger of their own for the
fields search returns or filters on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# ragaas_lexical_stats() of 0002, plus the generation.
_STATS_WITH_GENERATION = """
CREATE OR REPLACE FUNCTION ragaas_lexical_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO lexical_stats AS s (organization_id, chunk_count, total_length, generation)
        SELECT organization_id,
               CASE WHEN TG_OP = 'INSERT' THEN count(*) ELSE 0 END,
               sum(lexical_length),
               1
        FROM new_rows GROUP BY organization_id
        ON CONFLICT (organization_id) DO UPDATE
        SET chunk_count = s.chunk_count + excluded.chunk_count,
            total_length = s.total_length + excluded.total_length,
            generation = s.generation + 1;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE lexical_stats s
        SET chunk_count = s.chunk_count - CASE WHEN TG_OP = 'DELETE' THEN o.n ELSE 0 END,
            total_length = s.total_length - o.len,
            generation = s.generation + CASE WHEN TG_OP = 'DELETE' THEN 1 ELSE 0 END
        FROM (SELECT organization_id, count(*) AS n, sum(lexical_length) AS len
              FROM old_rows GROUP BY organization_id) o
        WHERE s.organization_id = o.organization_id;
    END IF;
    RETURN NULL;
END;
$$
"""

_STATS_WITHOUT_GENERATION = """
CREATE OR REPLACE FUNCTION ragaas_lexical_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO lexical_stats AS s (organization_id, chunk_count, total_length)
        SELECT organization_id,
               CASE WHEN TG_OP = 'INSERT' THEN count(*) ELSE 0 END,
               sum(lexical_length)
        FROM new_rows GROUP BY organization_id
        ON CONFLICT (organization_id) DO UPDATE
        SET chunk_count = s.chunk_count + excluded.chunk_count,
            total_length = s.total_length + excluded.total_length;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE lexical_stats s
        SET chunk_count = s.chunk_count - CASE WHEN TG_OP = 'DELETE' THEN o.n ELSE 0 END,
            total_length = s.total_length - o.len
        FROM (SELECT organization_id, count(*) AS n, sum(lexical_length) AS len
              FROM old_rows GROUP BY organization_id) o
        WHERE s.organization_id = o.organization_id;
    END IF;
    RETURN NULL;
END;
$$
"""

# Status and counters change on every ingestion step without changing what search returns.
_DOCUMENTS = """
CREATE FUNCTION ragaas_documents_index_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lexical_stats AS s (organization_id, generation)
    SELECT DISTINCT n.organization_id, 1
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (n.title, n.url, n.labels, n.metadata, n.external_id, n.data_source_id)
          IS DISTINCT FROM (o.title, o.url, o.labels, o.metadata, o.external_id, o.data_source_id)
    ON CONFLICT (organization_id) DO UPDATE SET generation = s.generation + 1;
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE lexical_stats ADD COLUMN generation bigint NOT NULL DEFAULT 0")
    op.execute(_STATS_WITH_GENERATION)
    op.execute(_DOCUMENTS)
    op.execute(
        "CREATE TRIGGER documents_index_generation AFTER UPDATE ON documents "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION ragaas_documents_index_generation()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS documents_index_generation ON documents")
    op.execute("DROP FUNCTION IF EXISTS ragaas_documents_index_generation()")
    op.execute(_STATS_WITHOUT_GENERATION)
    op.execute("ALTER TABLE lexical_stats DROP COLUMN generation")
