"""Ranking metrics over qrels and runs, computed by ranx (never hand-rolled)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from ragaas.evaluation.beir import Qrels as QrelsDict

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
RunDict = dict[str, dict[str, float]]


def ranking_to_scores(doc_ids: Sequence[str]) -> dict[str, float]:
    """Strictly decreasing scores for a ranked list, so ranx keeps exactly this order."""
    # Service scores can tie (RRF, equal ts_rank_cd); ranx would break ties its own way.
    return {doc_id: float(len(doc_ids) - rank) for rank, doc_id in enumerate(doc_ids)}


def evaluate_run(
    qrels: QrelsDict, run: RunDict, metrics: Sequence[str] = METRICS
) -> dict[str, float]:
    """Mean of each metric over the judged queries; a query missing from the run scores 0."""
    if not qrels:
        raise ValueError("no judged queries to evaluate")
    if not any(run.values()):  # ranx cannot build a run without a single document
        return dict.fromkeys(metrics, 0.0)
    # Imported here: ranx (numba, scipy) costs ~2 s of CPU, and `ragaas eval` is imported by
    # every `ragaas` command, which otherwise all pay it at start-up.
    from ranx import Qrels, Run, evaluate

    with warnings.catch_warnings():
        # ranx's numba kernels warn about an index cast that cannot overflow here.
        warnings.filterwarnings("ignore", message=".*unsafe cast.*")
        scores = evaluate(Qrels(qrels), Run(run), list(metrics), make_comparable=True)
    return {name: float(scores[name]) for name in metrics}
