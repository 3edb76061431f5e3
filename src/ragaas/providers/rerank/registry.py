"""Pick the reranker named in settings (none by default: no reranker ships offline)."""

from __future__ import annotations

from ragaas.providers.rerank.base import Reranker
from ragaas.providers.rerank.cross_encoder import LocalCrossEncoder
from ragaas.providers.rerank.http import HttpReranker
from ragaas.settings import Settings


def make_reranker(settings: Settings) -> Reranker | None:
    """The configured reranker, or None."""
    if settings.rerank_provider == "none":
        return None
    if settings.rerank_provider == "local":
        if settings.rerank_model_path is None or not settings.rerank_model_path.is_dir():
            raise ValueError("RAGAAS_RERANK_MODEL_PATH must name a cross-encoder model directory")
        return LocalCrossEncoder(settings.rerank_model_path)
    if not settings.rerank_url:
        raise ValueError("RAGAAS_RERANK_URL is required for the http reranker")
    key = settings.rerank_api_key.get_secret_value() if settings.rerank_api_key else None
    return HttpReranker(
        settings.rerank_url, settings.rerank_model, key, settings.rerank_timeout_seconds
    )
