"""Reciprocal rank fusion."""

from __future__ import annotations

import pytest

from ragaas.retrieval.fusion import convex_fusion, reciprocal_rank_fusion, zscores


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


def test_zscores_standardise_a_list() -> None:
    z = zscores([("a", 3.0), ("b", 1.0)])
    assert z == {"a": pytest.approx(1.0), "b": pytest.approx(-1.0)}
    assert zscores([("only", 7.0)]) == {"only": 0.0}


def test_convex_fusion_weighs_standardised_scores() -> None:
    dense = [("a", 0.9), ("c", 0.85), ("b", 0.1)]
    lexical = [("c", 30.0), ("d", 10.0)]
    fused = dict(convex_fusion(dense, lexical, lexical_weight=0.5))
    dz = zscores(dense)
    lz = zscores(lexical)
    assert fused["a"] == pytest.approx(0.5 * dz["a"] + 0.5 * min(lz.values()))
    assert fused["c"] == pytest.approx(0.5 * dz["c"] + 0.5 * lz["c"])
    assert fused["d"] == pytest.approx(0.5 * min(dz.values()) + 0.5 * lz["d"])
    assert next(iter(fused)) == "c"  # the candidate strong in both lists wins
    only_dense = convex_fusion(dense, lexical, lexical_weight=0.0)
    assert [key for key, _ in only_dense][:3] == ["a", "c", "b"]
