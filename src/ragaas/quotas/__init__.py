"""Per-organisation quotas: documents, stored bytes, queries per day."""
