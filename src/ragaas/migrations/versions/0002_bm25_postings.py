"""Exact BM25 inside PostgreSQL: postings with term frequency and chunk length, per-org statistics

Replaces the generated tsvector column and its GIN index (ranked with ts_rank_cd, which is neither
BM25 nor fast at scale: see ARCHITECTURE.md section 7) with a postings table whose covering primary
key serves BM25 from an index-only scan. Terms come from PostgreSQL's `english` text search
configuration (stemming, stop words) over the document title and the chunk text.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_chunks_lexical")
    op.execute("ALTER TABLE chunks DROP COLUMN lexical")
    op.execute("ALTER TABLE chunks ADD COLUMN lexical_length integer NOT NULL DEFAULT 0")
    op.execute(
        """
        CREATE TABLE chunk_terms (
            organization_id uuid NOT NULL,
            term text NOT NULL,
            chunk_id bigint NOT NULL REFERENCES chunks (id) ON DELETE CASCADE
                DEFERRABLE INITIALLY DEFERRED,
            tf integer NOT NULL,
            chunk_length integer NOT NULL,
            CONSTRAINT pk_chunk_terms PRIMARY KEY (organization_id, term, chunk_id)
                INCLUDE (tf, chunk_length)
        )
        """
    )
    op.execute("CREATE INDEX ix_chunk_terms_chunk_id ON chunk_terms (chunk_id)")
    op.execute(
        """
        CREATE TABLE lexical_stats (
            organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
            chunk_count bigint NOT NULL DEFAULT 0,
            total_length bigint NOT NULL DEFAULT 0
        )
        """
    )
    _postings_trigger()
    _stats_triggers()
    # Index what is already there (touching content fires the postings trigger), then count.
    op.execute("UPDATE chunks SET content = content")
    op.execute("DELETE FROM lexical_stats")
    op.execute(
        "INSERT INTO lexical_stats (organization_id, chunk_count, total_length) "
        "SELECT organization_id, count(*), sum(lexical_length) FROM chunks GROUP BY organization_id"
    )


def _postings_trigger() -> None:
    # BEFORE ROW: the tsvector is computed once, its postings written, and the chunk's length kept
    # on the row (so deletions can update the statistics without recomputing anything). The
    # postings' foreign key is deferred because the chunk row does not exist yet at this point.
    op.execute(
        """
        CREATE FUNCTION ragaas_index_chunk_terms() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            doc_title text;
            total integer;
        BEGIN
            SELECT title INTO doc_title FROM documents WHERE id = NEW.document_id;
            IF TG_OP = 'UPDATE' THEN
                DELETE FROM chunk_terms WHERE chunk_id = OLD.id;
            END IF;
            WITH terms AS (
                SELECT t.lexeme, coalesce(array_length(t.positions, 1), 1) AS tf
                FROM unnest(to_tsvector('english', coalesce(doc_title, '') || E'\\n' || NEW.content)) AS t
            ), total_len AS (SELECT coalesce(sum(tf), 0)::integer AS n FROM terms),
            inserted AS (
                INSERT INTO chunk_terms (organization_id, term, chunk_id, tf, chunk_length)
                SELECT NEW.organization_id, terms.lexeme, NEW.id, terms.tf, total_len.n
                FROM terms, total_len
            )
            SELECT n INTO total FROM total_len;
            NEW.lexical_length := total;
            RETURN NEW;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER chunks_index_terms BEFORE INSERT OR UPDATE OF content ON chunks "
        "FOR EACH ROW EXECUTE FUNCTION ragaas_index_chunk_terms()"
    )


def _stats_triggers() -> None:
    # Statement-level with transition tables: one upsert per organisation per statement.
    op.execute(
        """
        CREATE FUNCTION ragaas_lexical_stats() RETURNS trigger LANGUAGE plpgsql AS $$
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
    )
    op.execute(
        "CREATE TRIGGER chunks_lexical_stats_insert AFTER INSERT ON chunks "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ragaas_lexical_stats()"
    )
    op.execute(
        "CREATE TRIGGER chunks_lexical_stats_update AFTER UPDATE ON chunks "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION ragaas_lexical_stats()"
    )
    op.execute(
        "CREATE TRIGGER chunks_lexical_stats_delete AFTER DELETE ON chunks "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ragaas_lexical_stats()"
    )


def downgrade() -> None:
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS chunks_lexical_stats_{name} ON chunks")
    op.execute("DROP TRIGGER IF EXISTS chunks_index_terms ON chunks")
    op.execute("DROP FUNCTION IF EXISTS ragaas_lexical_stats()")
    op.execute("DROP FUNCTION IF EXISTS ragaas_index_chunk_terms()")
    op.execute("DROP TABLE IF EXISTS lexical_stats")
    op.execute("DROP TABLE IF EXISTS chunk_terms")
    op.execute("ALTER TABLE chunks DROP COLUMN lexical_length")
    op.execute(
        "ALTER TABLE chunks ADD COLUMN lexical tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english', content)) STORED"
    )
    op.execute("CREATE INDEX ix_chunks_lexical ON chunks USING gin (lexical)")
