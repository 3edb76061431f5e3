"""Sweep fusion settings offline over candidates fetched once from a kept evaluation organisation.

    RAGAAS_DATA_DIR=/tmp/rg-tune ragaas eval beir DIR --split train --keep     # once: the index
    RAGAAS_DATA_DIR=/tmp/rg-tune python benchmarks/fusion_sweep.py DIR --org-id UUID
    # a second corpus, to check that a choice generalises (benchmarks/build_manpages.py):
    RAGAAS_DATA_DIR=/tmp/rg-man python benchmarks/fusion_sweep.py /tmp/manpages --split test \
        --org-id UUID

Dense and BM25 candidate lists (chunk, score) come from the same repository functions the search
service uses; every fusion variant is then scored with ranx on document rankings (max over a
document's chunks). Tune on train only; the point is to find settings that generalise.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from ragaas.evaluation.beir import load_beir
from ragaas.evaluation.metrics import evaluate_run, ranking_to_scores
from ragaas.retrieval import repository
from ragaas.retrieval.fusion import zscores
from ragaas.retrieval.schemas import SearchFilters
from ragaas.runtime import build_runtime
from ragaas.settings import Settings

Candidates = list[tuple[int, float]]
Fusion = Callable[[Candidates, Candidates], list[int]]


async def fetch(
    dataset_dir: Path, split: str, org: uuid.UUID, depth: int
) -> tuple[dict, dict, dict, dict]:
    """Per query: dense and lexical candidates, plus chunk -> external id and the qrels."""
    dataset = load_beir(dataset_dir, split)
    rt = build_runtime(Settings())
    dense: dict[str, Candidates] = {}
    lexical: dict[str, Candidates] = {}
    async with rt.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT c.id, d.external_id FROM chunks c JOIN documents d ON d.id = c.document_id"
                " WHERE c.organization_id = :org"
            ),
            {"org": org},
        )
        doc_of = {r.id: r.external_id for r in rows}
        for qid, query in dataset.queries.items():
            vector = (await rt.queries.embed([query]))[0]
            dense[qid] = await repository.dense_candidates(
                session, org, vector, SearchFilters(), depth
            )
            lexical[qid] = await repository.lexical_candidates(
                session, org, query, SearchFilters(), depth
            )
            await session.commit()
    await rt.close()
    return dense, lexical, doc_of, dataset.qrels


def rrf(k: float, w_lex: float = 0.5) -> Fusion:
    def fuse(dense: Candidates, lexical: Candidates) -> list[int]:
        scores: dict[int, float] = {}
        for weight, ranked in ((1 - w_lex, dense), (w_lex, lexical)):
            for rank, (cid, _) in enumerate(ranked, start=1):
                scores[cid] = scores.get(cid, 0.0) + 2 * weight / (k + rank)
        return sorted(scores, key=lambda c: -scores[c])

    return fuse


def _minmax(cands: Candidates) -> dict[int, float]:
    if not cands:
        return {}
    hi, lo = max(s for _, s in cands), min(s for _, s in cands)
    return {c: (s - lo) / (hi - lo) if hi > lo else 1.0 for c, s in cands}


def convex(alpha: float, norm: Callable[[Candidates], dict[int, float]]) -> Fusion:
    def fuse(dense: Candidates, lexical: Candidates) -> list[int]:
        d, lx = norm(dense), norm(lexical)
        d_floor = min(d.values(), default=0.0)
        l_floor = min(lx.values(), default=0.0)
        ids = set(d) | set(lx)
        score = {c: (1 - alpha) * d.get(c, d_floor) + alpha * lx.get(c, l_floor) for c in ids}
        return sorted(ids, key=lambda c: -score[c])

    return fuse


def evaluate(fusion: Fusion, data: tuple[dict, dict, dict, dict], depth: int) -> dict[str, float]:
    dense, lexical, doc_of, qrels = data
    run = {}
    for qid in dense:
        docs: list[str] = []
        for cid in fusion(dense[qid][:depth], lexical[qid][:depth]):
            ext = doc_of.get(cid)
            if ext is not None and ext not in docs:
                docs.append(ext)
        run[qid] = ranking_to_scores(docs[:100])
    return evaluate_run(qrels, run)


def main() -> None:
    """Print nDCG@10 / Recall@100 for each fusion variant."""
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--org-id", type=uuid.UUID, required=True)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--split", default="train", help="qrels/SPLIT.tsv (tune on train only)")
    args = parser.parse_args()
    data = asyncio.run(fetch(args.dataset, args.split, args.org_id, args.depth))
    variants: dict[str, Fusion] = {"dense": lambda d, lx: [c for c, _ in d]}
    variants["bm25"] = lambda d, lx: [c for c, _ in lx]
    for k in (5, 10, 20, 40, 60, 100):
        variants[f"rrf k={k}"] = rrf(k)
    for w in (0.3, 0.4, 0.6, 0.7):
        variants[f"rrf k=60 w_lex={w}"] = rrf(60, w)
    for alpha in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        variants[f"convex minmax a={alpha}"] = convex(alpha, _minmax)
        variants[f"convex zscore a={alpha}"] = convex(alpha, zscores)
    for depth in (20, 50, 100):
        for name, fusion in variants.items():
            if depth != args.depth and not name.startswith(("rrf k=60", "convex zscore a=0.5")):
                continue
            m = evaluate(fusion, data, depth)
            ndcg, recall = m["ndcg@10"], m["recall@100"]
            print(f"depth {depth:3d}  {name:26s} nDCG@10 {ndcg:.4f}  R@100 {recall:.4f}")


if __name__ == "__main__":
    main()
