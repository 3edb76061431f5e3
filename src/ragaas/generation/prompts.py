"""Prompt for grounded, cited answers, and reading the citations back."""

from __future__ import annotations

import re

from ragaas.providers.llm.base import ChatMessage
from ragaas.retrieval.schemas import SearchResult

# Short and plain: measured against the small local model, longer instructions made it worse.
SYSTEM_PROMPT = (
    "You answer questions from the given sources. Be brief. "
    "Cite the source number in brackets, like [1]. "
    "If the sources do not contain the answer, say you could not find it in the documents."
)
_CITATION = re.compile(r"\[(\d{1,3})\]")
MAX_SOURCE_CHARS = 2000


def build_messages(query: str, sources: list[SearchResult]) -> list[ChatMessage]:
    """System prompt, then the question with its numbered sources."""
    blocks = [
        f"[{n}] {source.title}\n{source.content[:MAX_SOURCE_CHARS]}"
        for n, source in enumerate(sources, start=1)
    ]
    user = "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {query}\nAnswer:"
    return [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", user)]


def cited_numbers(answer: str, source_count: int) -> list[int]:
    """The source numbers the answer cites, in order of first use, ignoring invalid ones."""
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        n = int(match.group(1))
        if 1 <= n <= source_count and n not in seen:
            seen.append(n)
    return seen
