"""Retrieval evaluation: BEIR datasets through the real ingestion pipeline and search service."""
