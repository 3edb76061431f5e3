"""Reciprocal rank fusion."""

from __future__ import annotations

import pytest

from ragaas.retrieval.fusion import reciprocal_rank_fusion


def test_rrf_rewards_agreement_and_rank() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    scores = dict(fused)
    assert fused[0][0] == "b"
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["d"] == pytest.approx(1 / 62)
    assert [key for key, _ in fused] == ["b", "a", "d", "c"]


def test_rrf_of_nothing_is_empty() -> None:
    assert reciprocal_rank_fusion([[], []]) == []
