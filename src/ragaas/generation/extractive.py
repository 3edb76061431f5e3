"""The answer without an LLM: the passages' best supporting sentences, each cited."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from ragaas.retrieval.schemas import SearchResult

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "not",
        "no",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "has",
        "have",
        "had",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "me",
        "my",
        "our",
        "your",
    ]
)
MAX_SENTENCES = 3
RELATIVE_FLOOR = 0.5
_MARKUP = re.compile(r"\*\*|__|`")


@dataclass(frozen=True)
class Picked:
    source_index: int  # index into the retrieved passages
    sentence: str


def _terms(text: str) -> list[str]:
    # Crude suffix folding so "cells"/"cell" and "treated"/"treat" meet.
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words]


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (a simple splitter is enough to pick evidence)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 20]


def pick_sentences(query: str, passages: list[SearchResult]) -> list[Picked]:
    """Up to three sentences that share the most informative words with the query."""
    query_terms = set(_terms(query))
    candidates = [
        (i, position, sentence)
        for i, passage in enumerate(passages)
        for position, sentence in enumerate(split_sentences(passage.content))
    ]
    if not query_terms or not candidates:
        return []
    document_frequency = Counter(t for _, _, s in candidates for t in set(_terms(s)))
    total = len(candidates)

    def score(item: tuple[int, int, str]) -> float:
        index, _, sentence = item
        overlap = query_terms & set(_terms(sentence))
        weight = sum(math.log(1 + total / document_frequency[t]) for t in overlap)
        return weight / (1 + 0.15 * index)  # prefer what retrieval ranked higher

    scored = sorted(((score(c), c) for c in candidates), key=lambda x: -x[0])
    floor = max(scored[0][0] * RELATIVE_FLOOR, 1e-9)
    # Sentences far weaker than the best one are noise from other passages, not support.
    best = [x for x in scored if x[0] >= floor][:MAX_SENTENCES]
    ordered = sorted((c for _, c in best), key=lambda c: (c[0], c[1]))
    return [Picked(index, _MARKUP.sub("", sentence)) for index, _, sentence in ordered]


def supporting_sources(
    answer: str, passages: list[SearchResult], min_share: float = 0.5
) -> list[int]:
    """1-based numbers of passages containing most of the answer's words (for uncited answers)."""
    words = set(_terms(answer))
    if not words:
        return []
    shares = [len(words & set(_terms(p.content))) / len(words) for p in passages]
    return [n for n, share in enumerate(shares, start=1) if share >= min_share]
