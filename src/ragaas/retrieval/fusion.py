"""Fusing ranked candidate lists: z-score convex combination (default) or reciprocal rank fusion.

Measured on SciFact train (benchmarks/fusion_sweep.py, 100 candidates each): RRF k=60 0.709
nDCG@10, convex combination of z-scored scores with equal weights 0.732. Score-based fusion keeps
how *much* better a candidate is, which rank-based fusion throws away.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], k: int = 60) -> list[tuple[K, float]]:
    """Fuse rankings (best first) by sum of 1/(k + rank); ties keep first-seen order."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def zscores(scored: Sequence[tuple[K, float]]) -> dict[K, float]:
    """Each score as standard deviations from its list's mean (all 0 for fewer than two)."""
    if len(scored) < 2:
        return {key: 0.0 for key, _ in scored}
    values = [score for _, score in scored]
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    return {key: (score - mean) / spread for key, score in scored}


def convex_fusion(
    dense: Sequence[tuple[K, float]], lexical: Sequence[tuple[K, float]], lexical_weight: float
) -> list[tuple[K, float]]:
    """Weighted sum of z-scored scores; a candidate missing from a list gets that list's minimum."""
    d, lx = zscores(dense), zscores(lexical)
    d_floor, l_floor = min(d.values(), default=0.0), min(lx.values(), default=0.0)
    fused = {
        key: (1 - lexical_weight) * d.get(key, d_floor) + lexical_weight * lx.get(key, l_floor)
        for key in (*d, *lx)
    }
    return sorted(fused.items(), key=lambda item: item[1], reverse=True)
