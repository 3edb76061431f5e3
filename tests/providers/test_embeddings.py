"""Embedding providers: the local model, and an OpenAI-compatible endpoint over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI

from ragaas.observability.metrics import MeteredEmbedder
from ragaas.providers.embeddings.base import EmbeddingError
from ragaas.providers.embeddings.local import LocalSentenceTransformer
from ragaas.providers.embeddings.onnx_queries import OnnxQueryEncoder
from ragaas.providers.embeddings.openai_compatible import OpenAICompatibleEmbedder
from ragaas.providers.embeddings.registry import make_query_embedder
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import listening_socket, serve_in_thread


def _embeddings_app(runtime: Runtime) -> FastAPI:
    """A local server speaking OpenAI's /v1/embeddings, backed by the real local model."""
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(body: dict[str, Any]) -> dict[str, Any]:
        vectors = await runtime.embedder.embed(list(body["input"]))
        # Scaled and in reverse order: the client must normalise and re-order by index.
        data = [
            {"object": "embedding", "index": i, "embedding": [x * 3 for x in v]}
            for i, v in enumerate(vectors)
        ]
        return {"object": "list", "data": data[::-1], "model": body["model"]}

    return app


@pytest.fixture(scope="module")
def embeddings_url(runtime: Runtime) -> Iterator[str]:
    with serve_in_thread(_embeddings_app(runtime)) as base:
        yield f"{base}/v1"


async def test_local_model_vectors_are_unit_length_and_meaningful(runtime: Runtime) -> None:
    cat, kitten, invoice = await runtime.embedder.embed(
        ["a cat sleeps on the sofa", "a kitten naps on the couch", "pay the invoice by Friday"]
    )
    assert len(cat) == 384
    assert sum(x * x for x in cat) == pytest.approx(1.0, abs=1e-4)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(cat, kitten) > cos(cat, invoice) + 0.3


async def test_openai_compatible_endpoint_matches_local_model(
    runtime: Runtime, embeddings_url: str
) -> None:
    texts = [f"sentence number {i} about topic {i % 3}" for i in range(70)]
    remote = OpenAICompatibleEmbedder(embeddings_url, "all-MiniLM-L6-v2", 384, "k", batch_size=32)
    try:
        got = await remote.embed(texts)
    finally:
        await remote.aclose()
    expected = await runtime.embedder.embed(texts)
    assert len(got) == 70
    for a, b in zip(got, expected, strict=True):
        assert a == pytest.approx(b, abs=1e-5)


async def test_wrong_dimension_and_unreachable_endpoint_are_clear_errors(
    embeddings_url: str,
) -> None:
    wrong = OpenAICompatibleEmbedder(embeddings_url, "m", 768, None)
    with pytest.raises(EmbeddingError, match="768"):
        await wrong.embed(["x"])
    await wrong.aclose()
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    gone = OpenAICompatibleEmbedder(f"http://127.0.0.1:{port}/v1", "m", 384, None)
    with pytest.raises(EmbeddingError, match="unreachable"):
        await gone.embed(["x"])
    await gone.aclose()


async def test_queries_run_on_the_int8_copy_of_the_passage_model(runtime: Runtime) -> None:
    """Search queries take the int8 ONNX encoder; its vectors point where torch's do."""
    queries = runtime.queries
    assert isinstance(queries, MeteredEmbedder)
    assert isinstance(queries.inner, OnnxQueryEncoder)
    texts = [
        "a cat sleeps on the sofa",
        "0-dimensional biomaterials show inductive properties.",
        "What does the MicroBatcher do when a forward pass fails? " * 30,  # truncated at 256
    ]
    torch_vectors = np.array(await runtime.embedder.embed(texts))
    int8_vectors = np.array(await runtime.queries.embed(texts))
    assert int8_vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(int8_vectors, axis=1), 1.0, atol=1e-4)
    cosines = (torch_vectors * int8_vectors).sum(axis=1)
    assert cosines.min() > 0.995, cosines
    # Different texts stay apart: the copy is not merely close to everything.
    assert float(torch_vectors[0] @ int8_vectors[1]) < 0.5


def test_the_query_encoder_follows_the_settings(settings: Settings) -> None:
    passages = LocalSentenceTransformer()
    assert isinstance(make_query_embedder(settings, passages), OnnxQueryEncoder)
    same = settings.model_copy(update={"embedding_query_encoder": "same"})
    assert make_query_embedder(same, passages) is passages
    remote = settings.model_copy(update={"embedding_provider": "openai"})
    assert make_query_embedder(remote, passages) is passages
