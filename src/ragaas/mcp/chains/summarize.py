"""Summarise documents (by id) or what the knowledge base says about a query, citing [n] sources.

Without an LLM the summary is extractive: per document, the sentences most central to its
passages (sharing the most frequent content words, Luhn-style), boosted by overlap with the
focus query when there is one, quoted in document order with their source numbers.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass

from ragaas.mcp.chains.grounding import Finished, Grounding, compact, numbered
from ragaas.mcp.chains.text import sentences, terms
from ragaas.mcp.schemas import Summary
from ragaas.providers.llm.base import ChatMessage
from ragaas.retrieval.schemas import SearchResult

SENTENCES_PER_DOCUMENT = 3
MAX_SENTENCES = 9
QUERY_WEIGHT = 3.0
PROMPT = (
    "Summarise the numbered sources. Be concise and factual, use only what the sources say, "
    "and cite the source number in brackets, like [1], after each statement."
)


@dataclass(frozen=True)
class Candidate:
    source: int  # 1-based source number
    position: int  # order within the sources, i.e. document order
    sentence: str
    score: float


async def summarize(
    g: Grounding, document_ids: list[uuid.UUID], focus: str | None, passages: int
) -> Summary:
    """Retrieve (per document, or for the focus query), then summarise with citations."""
    if not await g.allowed():
        return _blocked(await g.refuse(), g)
    if document_ids:
        per_document = max(1, passages // len(document_ids))
        for document_id in document_ids:
            await g.retrieve(focus, document_ids=[document_id], top_k=per_document)
        order = {d: i for i, d in enumerate(document_ids)}
        g.sources.sort(key=lambda s: (order.get(s.document_id, len(order)), s.chunk_id))
    else:
        await g.retrieve(focus, top_k=passages)
    if not await g.checked():
        return _blocked(await g.refuse(), g)
    if not g.sources:
        text = "None of the documents had passages to summarise."
    elif g.model is not None:
        ask = f"Focus on: {focus}\n\n" if focus else ""
        text = await g.complete(
            [
                g.system(PROMPT),
                ChatMessage("user", f"Sources:\n\n{numbered(g.sources)}\n\n{ask}Summary:"),
            ]
        )
    else:
        text = " ".join(f"{c.sentence} [{c.source}]" for c in extractive_summary(g.sources, focus))
    cited = compact(text, g.sources)
    done = await g.finish(cited.text, cited.citations)
    return Summary(
        answer=done.answer,
        citations=done.citations,
        answerer=g.answerer,
        query_id=done.query_id,
        blocked=done.blocked,
        documents=list(dict.fromkeys(s.document_id for s in g.sources)),
    )


def extractive_summary(sources: list[SearchResult], focus: str | None) -> list[Candidate]:
    """The most central sentences of each document's passages, in document order."""
    focus_terms = set(terms(focus or ""))
    counts: dict[uuid.UUID, Counter[str]] = {}
    for source in sources:
        counts.setdefault(source.document_id, Counter()).update(terms(source.content))
    candidates: dict[uuid.UUID, list[Candidate]] = {}
    position = 0
    for n, source in enumerate(sources, start=1):
        frequency = counts[source.document_id]
        for sentence in sentences(source.content):
            words = set(terms(sentence))
            if len(words) < 3:
                continue  # headings and fragments say too little to quote
            central = sum(math.log1p(frequency[w]) for w in words) / math.sqrt(len(words))
            score = central + QUERY_WEIGHT * len(words & focus_terms)
            candidates.setdefault(source.document_id, []).append(
                Candidate(n, position, sentence, score)
            )
            position += 1
    picked: list[Candidate] = []
    for ranked in candidates.values():
        picked.extend(_best_distinct(ranked, SENTENCES_PER_DOCUMENT))
    return sorted(picked, key=lambda c: c.position)[:MAX_SENTENCES]


def _best_distinct(candidates: list[Candidate], limit: int) -> list[Candidate]:
    # Overlapping chunks repeat sentences: quote each sentence once.
    seen: set[str] = set()
    kept: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: -c.score):
        if c.sentence not in seen:
            seen.add(c.sentence)
            kept.append(c)
        if len(kept) == limit:
            break
    return kept


def _blocked(done: Finished, g: Grounding) -> Summary:
    return Summary(
        answer=done.answer,
        citations=[],
        answerer=g.answerer,
        query_id=done.query_id,
        blocked=True,
        documents=[],
    )
