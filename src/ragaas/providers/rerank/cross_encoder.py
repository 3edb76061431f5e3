"""A sentence-transformers CrossEncoder loaded from a local model directory (no downloads)."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any


class LocalCrossEncoder:
    def __init__(self, model_path: Path, batch_size: int = 16) -> None:
        self.name = model_path.name
        self.model_path = model_path
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(str(self.model_path), device="cpu")
            return self._model

    def score_sync(self, query: str, passages: list[str]) -> list[float]:
        """Blocking scores, for scripts."""
        pairs = [(query, passage) for passage in passages]
        scores = self._load().predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return [float(s) for s in scores]

    async def score(self, query: str, passages: list[str]) -> list[float]:
        """Score in a worker thread so the event loop keeps serving."""
        if not passages:
            return []
        return await asyncio.to_thread(self.score_sync, query, passages)
