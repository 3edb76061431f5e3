"""Compare two documents: similarities and differences, each point citing its [n] sources.

Without an LLM: sentence pairs (one from each document) sharing many content words are the
similarities; sentences whose content words the other document's passages barely share are the
differences.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from ragaas.mcp.chains.grounding import Finished, Grounding, compact, numbered
from ragaas.mcp.chains.text import cited, overlap, sentences, terms
from ragaas.mcp.schemas import Comparison, Point
from ragaas.providers.llm.base import ChatMessage
from ragaas.retrieval.schemas import SearchResult

SIMILAR = 0.2  # Jaccard of content words for a pair to count as saying the same thing
DISTINCT = 0.1  # at most this similar to every sentence of the other document
MAX_POINTS = 3
PROMPT = (
    "Compare document A with document B using only the numbered sources. Reply in two parts "
    "headed 'Similarities:' and 'Differences:', each a list of points starting with '- ', and "
    "cite the source numbers in brackets, like [1], after each point."
)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_MARKERS = re.compile(r"\s*\[\d{1,3}\]")


@dataclass(frozen=True)
class Side:
    document_id: uuid.UUID
    title: str


@dataclass(frozen=True)
class Sentence:
    source: int
    text: str
    words: frozenset[str]


async def compare(g: Grounding, a: Side, b: Side, aspect: str | None, passages: int) -> Comparison:
    """Retrieve each document's passages (A's first), then compare them with citations."""
    if not await g.allowed():
        return _blocked(await g.refuse(), g)
    for side in (a, b):
        await g.retrieve(aspect or side.title, document_ids=[side.document_id], top_k=passages)
    if not await g.checked():
        return _blocked(await g.refuse(), g)
    if g.model is not None:
        text = await g.complete(_messages(g, a, b, aspect))
        similarities, differences = parse_points(text)
    else:
        similarities, differences = extractive_points(g.sources, a, b, aspect)
        text = render(similarities, differences)
    result = compact(text, g.sources)
    done = await g.finish(result.text, result.citations)

    def renumbered(points: list[Point]) -> list[Point]:
        mapping = result.mapping
        if done.blocked:  # an after-generation rule refused the text: no points either
            return []
        return [
            Point(text=p.text, citations=[mapping[n] for n in p.citations if n in mapping])
            for p in points
        ]

    return Comparison(
        answer=done.answer,
        citations=done.citations,
        answerer=g.answerer,
        query_id=done.query_id,
        blocked=done.blocked,
        similarities=renumbered(similarities),
        differences=renumbered(differences),
    )


def _messages(g: Grounding, a: Side, b: Side, aspect: str | None) -> list[ChatMessage]:
    def numbers(side: Side) -> str:
        mine = [str(n) for n, s in enumerate(g.sources, 1) if s.document_id == side.document_id]
        return ", ".join(mine) or "none"

    focus = f"Compare them on: {aspect}\n" if aspect else ""
    user = (
        f"Document A: {a.title} (sources {numbers(a)})\n"
        f"Document B: {b.title} (sources {numbers(b)})\n{focus}\n"
        f"Sources:\n\n{numbered(g.sources)}\n\nComparison:"
    )
    return [g.system(PROMPT), ChatMessage("user", user)]


def parse_points(text: str) -> tuple[list[Point], list[Point]]:
    """The bullet points under 'Similarities' and 'Differences' in a model's reply."""
    sections: dict[str, list[Point]] = {"similar": [], "differ": []}
    current: str | None = None
    for line in text.splitlines():
        lowered = line.lower()
        if not _BULLET.match(line):
            if "similar" in lowered:
                current = "similar"
            elif "differ" in lowered:
                current = "differ"
            continue
        if current is not None:
            body = _BULLET.sub("", line).strip()
            sections[current].append(Point(text=_MARKERS.sub("", body), citations=cited(body)))
    return sections["similar"], sections["differ"]


def extractive_points(
    sources: list[SearchResult], a: Side, b: Side, aspect: str | None
) -> tuple[list[Point], list[Point]]:
    """Similar sentence pairs and each side's most distinctive sentences."""
    focus = set(terms(aspect or ""))
    mine, theirs = _sentences(sources, a), _sentences(sources, b)
    pairs = sorted(
        (
            (overlap(x.words, y.words) + 0.1 * len(focus & (x.words | y.words)), x, y)
            for x in mine
            for y in theirs
            if overlap(x.words, y.words) >= SIMILAR
        ),
        key=lambda p: -p[0],
    )
    similarities: list[Point] = []
    used: set[str] = set()
    for _, x, y in pairs:
        if x.text in used or y.text in used or len(similarities) == MAX_POINTS:
            continue
        used.update((x.text, y.text))
        similarities.append(
            Point(
                text=f"{a.title}: {x.text} / {b.title}: {y.text}",
                citations=sorted({x.source, y.source}),
            )
        )
    differences = _distinct(mine, theirs, a, focus) + _distinct(theirs, mine, b, focus)
    return similarities, differences


def _sentences(sources: list[SearchResult], side: Side) -> list[Sentence]:
    seen: dict[str, Sentence] = {}
    for n, source in enumerate(sources, start=1):
        if source.document_id != side.document_id:
            continue
        for text in sentences(source.content):
            words = frozenset(terms(text))
            if len(words) >= 3 and text not in seen:
                seen[text] = Sentence(n, text, words)
    return list(seen.values())


def _distinct(
    mine: list[Sentence], theirs: list[Sentence], side: Side, focus: set[str]
) -> list[Point]:
    other_words = frozenset().union(*(s.words for s in theirs)) if theirs else frozenset()
    scored = [
        (len(s.words - other_words) + 2 * len(focus & s.words), i, s)
        for i, s in enumerate(mine)
        if all(overlap(s.words, t.words) <= DISTINCT for t in theirs)
    ]
    best = sorted(scored, key=lambda x: -x[0])[: MAX_POINTS - 1]
    return [
        Point(text=f"Only in {side.title}: {s.text}", citations=[s.source])
        for _, _, s in sorted(best, key=lambda x: x[1])
    ]


def render(similarities: list[Point], differences: list[Point]) -> str:
    """The comparison as text, each point followed by its [n] markers."""

    def lines(points: list[Point]) -> list[str]:
        if not points:
            return ["- None found in the passages compared."]
        return [f"- {p.text} " + "".join(f"[{n}]" for n in p.citations) for p in points]

    return "\n".join(["Similarities:", *lines(similarities), "Differences:", *lines(differences)])


def _blocked(done: Finished, g: Grounding) -> Comparison:
    return Comparison(
        answer=done.answer,
        citations=[],
        answerer=g.answerer,
        query_id=done.query_id,
        blocked=True,
        similarities=[],
        differences=[],
    )
