"""Pick the embedder named in settings."""

from __future__ import annotations

from ragaas.providers.embeddings import onnx_queries
from ragaas.providers.embeddings.base import Embedder
from ragaas.providers.embeddings.local import LocalSentenceTransformer
from ragaas.providers.embeddings.openai_compatible import OpenAICompatibleEmbedder
from ragaas.settings import Settings


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; its dimension must match the database's vector column."""
    if settings.embedding_provider == "openai":
        if not settings.embedding_base_url:
            raise ValueError("RAGAAS_EMBEDDING_BASE_URL is required for the openai embedder")
        key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
        return OpenAICompatibleEmbedder(
            settings.embedding_base_url,
            settings.embedding_model,
            settings.embedding_dimensions,
            key,
        )
    if settings.embedding_dimensions != LocalSentenceTransformer.dimensions:
        raise ValueError("the local embedder makes 384-d vectors: RAGAAS_EMBEDDING_DIMENSIONS=384")
    return LocalSentenceTransformer(settings.embedding_batch_size)


def make_query_embedder(settings: Settings, passages: Embedder) -> Embedder:
    """The embedder for search queries: the local model's int8 ONNX copy, else ``passages``."""
    if (
        settings.embedding_provider == "local"
        and settings.embedding_query_encoder == "int8"
        and onnx_queries.available()
    ):
        return onnx_queries.OnnxQueryEncoder()
    return passages
