"""Retrieval evaluation: ranx plumbing, the BEIR loader, and a run through the real product."""

from __future__ import annotations

import io
import json
import math
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console

from ragaas.documents import service as documents_service
from ragaas.evaluation.beir import load_beir
from ragaas.evaluation.cli import parse_modes, print_report
from ragaas.evaluation.metrics import evaluate_run, ranking_to_scores
from ragaas.evaluation.runner import EvalOptions, delete_organization, document_ranking, run_beir
from ragaas.retrieval.schemas import SearchMode, SearchResult
from ragaas.retrieval.service import Searcher
from ragaas.runtime import Runtime
from ragaas.settings import Settings

# --- metrics ----------------------------------------------------------------------------------


def test_ranx_metrics_match_hand_computed_values() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1, "d3": 1}, "q3": {"d4": 1}}
    run = {
        "q1": ranking_to_scores(["x", "d1", "y"]),  # the one relevant doc at rank 2
        "q2": ranking_to_scores(["d2", "x", "d3"]),  # relevant at ranks 1 and 3
        # q3 is missing from the run: it must count as 0, not be skipped
    }
    scores = evaluate_run(qrels, run)

    ndcg_q1 = 1 / math.log2(3)
    ndcg_q2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert scores["mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert scores["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2 + 0) / 3)
    assert scores["recall@10"] == pytest.approx((1 + 1 + 0) / 3)
    assert scores["recall@100"] == pytest.approx(2 / 3)


def test_a_run_that_found_nothing_scores_zero() -> None:
    scores = evaluate_run({"q1": {"d1": 1}}, {"q1": {}})
    assert scores == dict.fromkeys(scores, 0.0)
    assert len(scores) == 4


def test_recall_at_10_stops_at_rank_10() -> None:
    ranking = [f"x{i}" for i in range(10)] + ["d1"]  # relevant doc at rank 11
    scores = evaluate_run({"q": {"d1": 1}}, {"q": ranking_to_scores(ranking)})
    assert scores["recall@10"] == 0.0
    assert scores["recall@100"] == 1.0
    assert scores["mrr@10"] == 0.0


def _hit(external_id: str | None, score: float, chunk_id: int) -> SearchResult:
    return SearchResult(
        chunk_id=chunk_id,
        document_id=uuid.uuid4(),
        external_id=external_id,
        title="t",
        url=None,
        content="c",
        score=score,
        metadata={},
    )


def test_chunk_hits_become_a_document_ranking() -> None:
    hits = [
        _hit("a", 0.9, 1),
        _hit("b", 0.5, 2),
        _hit("a", 0.4, 3),  # a second chunk of "a" does not add a second entry
        _hit(None, 0.4, 4),  # a document without an external id cannot be judged
        _hit("c", 0.5, 5),  # ties with "b": first occurrence wins
    ]
    assert document_ranking(hits) == ["a", "b", "c"]
    assert list(ranking_to_scores(["a", "b", "c"]).values()) == [3.0, 2.0, 1.0]


def test_modes_parse() -> None:
    assert parse_modes("all") == (SearchMode.DENSE, SearchMode.LEXICAL, SearchMode.HYBRID)
    assert parse_modes("hybrid, dense") == (SearchMode.HYBRID, SearchMode.DENSE)


# --- BEIR loader ------------------------------------------------------------------------------


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _write_dataset(
    root: Path, docs: list[dict[str, str]], queries: list[dict[str, str]], qrels: list[str]
) -> Path:
    (root / "qrels").mkdir(parents=True)
    _write_jsonl(root / "corpus.jsonl", docs)
    _write_jsonl(root / "queries.jsonl", queries)
    lines = ["query-id\tcorpus-id\tscore", *qrels]
    (root / "qrels" / "train.tsv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return root


def test_beir_loader_reads_crlf_qrels_and_keeps_only_judged_queries(tmp_path: Path) -> None:
    root = _write_dataset(
        tmp_path / "tiny",
        docs=[{"_id": "d1", "title": "T1", "text": "one"}, {"_id": "d2", "title": "", "text": "2"}],
        queries=[{"_id": "q1", "text": "first"}, {"_id": "q2", "text": "unjudged"},
                 {"_id": "q3", "text": "third"}, {"_id": "q4", "text": "only a zero"}],
        qrels=["q1\td1\t1", "q3\td2\t2", "q3\td1\t1", "q4\td1\t0"],
    )  # fmt: skip
    data = load_beir(root)

    assert data.name == "tiny"
    corpus = [(d.doc_id, d.title, d.text) for d in data.corpus]
    assert corpus == [("d1", "T1", "one"), ("d2", "", "2")]
    assert data.queries == {"q1": "first", "q3": "third"}
    assert data.qrels == {"q1": {"d1": 1}, "q3": {"d2": 2, "d1": 1}}

    first = load_beir(root, limit_queries=1)
    assert first.queries == {"q1": "first"}
    assert first.qrels == {"q1": {"d1": 1}}
    with pytest.raises(FileNotFoundError):
        load_beir(root, split="test")


# --- end to end through the product -------------------------------------------------------------

DOCS = [
    ("photo", "Photosynthesis in plants",
     "Plants convert sunlight, water and carbon dioxide into glucose and oxygen. Chlorophyll in "
     "the chloroplasts absorbs the light energy that drives photosynthesis."),
    ("volcano", "How volcanoes erupt",
     "Volcanic eruptions happen when magma rises from the mantle and gas pressure builds up in "
     "the magma chamber until lava, ash and gas burst through the crust."),
    ("rome", "The fall of the Roman Empire",
     "The Western Roman Empire collapsed in 476 when the Germanic chieftain Odoacer deposed the "
     "last emperor, after decades of invasions, civil wars and economic decline."),
    ("qubit", "Quantum computing with qubits",
     "A quantum computer stores information in qubits, which can be in a superposition of zero "
     "and one; entanglement between qubits lets quantum algorithms outpace classical ones."),
    ("bees", "Honeybees and pollination",
     "Honeybees collect nectar and pollen from flowers and, flying from blossom to blossom, "
     "pollinate crops such as apples, almonds and clover."),
    ("jazz", "The origins of jazz music",
     "Jazz music was born in New Orleans in the early twentieth century, mixing blues, ragtime "
     "and brass band marches with improvisation and swing rhythms."),
]  # fmt: skip
QUERIES = {
    "q-photo": ("How do plants turn sunlight into energy?", "photo"),
    "q-volcano": ("What makes a volcano erupt with lava and ash?", "volcano"),
    "q-qubit": ("Qubits in superposition in a quantum computer", "qubit"),
    "q-bees": ("Which insects pollinate flowers and crops?", "bees"),
}


async def test_evaluation_runs_through_ingestion_and_search(
    tmp_path: Path, settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _write_dataset(
        tmp_path / "tiny-topics",
        docs=[{"_id": i, "title": t, "text": x} for i, t, x in DOCS],
        queries=[{"_id": q, "text": text} for q, (text, _) in QUERIES.items()],
        qrels=[f"{q}\t{doc}\t1" for q, (_, doc) in QUERIES.items()],
    )
    submitted, searched = _spy_on_services(monkeypatch)
    options = EvalOptions(keep=True, bare_sample=8, show_progress=False)

    report = await run_beir(settings, load_beir(root), options, runtime=runtime)
    try:
        assert sorted(submitted) == sorted(i for i, _, _ in DOCS)
        assert await _ready_external_ids(runtime, report.organization_id) == sorted(submitted)
    finally:
        await delete_organization(runtime, report.organization_id)

    assert len(searched) == 3 * (len(QUERIES) + 1)  # every query per mode, plus one warm-up
    assert report.ingestion.ready == len(DOCS)
    assert not report.ingestion.failed
    assert report.ingestion.chunks >= len(DOCS)
    assert report.bare.passages > 0
    by_mode = {m.mode: m for m in report.modes}
    assert set(by_mode) == {"dense", "lexical", "hybrid"}
    assert by_mode["hybrid"].metrics["ndcg@10"] >= 0.8
    assert by_mode["dense"].metrics["recall@10"] == 1.0
    assert all(m.queries == len(QUERIES) and m.latency_p95_ms > 0 for m in report.modes)
    assert await _ready_external_ids(runtime, report.organization_id) == []  # cleaned up

    out = io.StringIO()
    print_report(report, Console(file=out, width=200))
    assert "hybrid" in out.getvalue()
    assert "end-to-end / bare" in out.getvalue()
    assert json.loads(json.dumps(report.to_dict()))["ingestion"]["chunks_per_second"] > 0


def _spy_on_services(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    submitted: list[str] = []
    searched: list[str] = []
    real_submit, real_search = documents_service.submit, Searcher.search

    async def submit(*args: Any, **kwargs: Any) -> Any:
        submitted.append(args[3].external_id)
        return await real_submit(*args, **kwargs)

    async def search(self: Searcher, *args: Any, **kwargs: Any) -> Any:
        searched.append(args[2])
        return await real_search(self, *args, **kwargs)

    monkeypatch.setattr(documents_service, "submit", submit)
    monkeypatch.setattr(Searcher, "search", search)
    return submitted, searched


async def _ready_external_ids(runtime: Runtime, organization_id: uuid.UUID) -> list[str]:
    sql = sa.text(
        "SELECT d.external_id FROM documents d WHERE d.organization_id = :org "
        "AND d.status = 'ready' AND NOT EXISTS "
        "(SELECT 1 FROM chunks c WHERE c.document_id = d.id AND c.embedding IS NULL) "
        "ORDER BY d.external_id"
    )
    async with runtime.sessionmaker() as session:
        return list((await session.scalars(sql, {"org": organization_id})).all())
