"""Answer a question with several parts: split it, answer each part from its own passages, then
combine the answers; every [n] is numbered across the whole answer.

The split is asked of the LLM when there is one, else done on the question's own structure
(question marks, semicolons, line breaks, and "... and where/how/when ..."). Each part is answered
like ``/v1/chat`` answers (the LLM or the extractive answerer); the combined answer is the LLM's
merge of the parts, or the parts' answers in order.
"""

from __future__ import annotations

import re
from typing import Any

from ragaas.generation.schemas import Citation
from ragaas.mcp.chains.grounding import Finished, Grounding
from ragaas.mcp.chains.text import cited, renumber
from ragaas.mcp.schemas import MultipartAnswer, PartAnswer
from ragaas.providers.llm.base import ChatMessage

MAX_PARTS = 6
SPLIT_PROMPT = (
    "Split the user's question into the separate questions it asks. Reply with one "
    "self-contained question per line and nothing else. If it asks only one thing, reply with "
    "the question unchanged."
)
COMBINE_PROMPT = (
    "Combine the answers to the parts of a question into one brief answer to the whole "
    "question. Use only what the answers say and keep their source numbers in brackets, "
    "like [1], after each statement."
)
_ASKING = (
    r"what|where|when|who|whom|whose|why|how|which|is|are|was|were|do|does|did|can|could|"
    r"should|would|will|may|must|has|have"
)
_PIECES = re.compile(r"(?<=\?)\s+|;\s*|\n+")
_AND_THEN_ASK = re.compile(rf",?\s+(?:and|also|plus|as well as)\s+(?=(?:{_ASKING})\b)", re.I)
_ENUMERATOR = re.compile(r"^\s*(?:[-*\u2022]|\(?\d+[.)]|\(?[a-z][.)])\s+", re.I)


def split_question(question: str) -> list[str]:
    """The parts of a question, by its own punctuation and conjunctions (at most six)."""
    parts: list[str] = []
    for piece in _PIECES.split(question):
        for part in _AND_THEN_ASK.split(piece):
            part = _ENUMERATOR.sub("", part).strip(" ,.")
            if len(part.split()) >= 2:
                parts.append(part[0].upper() + part[1:])
    return parts[:MAX_PARTS] or [question.strip()]


def parse_parts(reply: str) -> list[str]:
    """One question per line of a model's reply, without bullets or numbering."""
    lines = (_ENUMERATOR.sub("", line).strip() for line in reply.splitlines())
    return [line for line in lines if len(line.split()) >= 2][:MAX_PARTS]


async def answer_multipart(g: Grounding) -> MultipartAnswer:
    """Split, answer each part (numbered across the whole answer), combine, record once."""
    if not await g.allowed():
        return _blocked(await g.refuse(), g)
    decomposed_by = g.answerer
    parts = parse_parts(await g.complete(_split(g))) if g.model is not None else []
    if not parts:
        parts, decomposed_by = split_question(g.query), "extractive"
    found = [await g.retrieve(part) for part in parts]
    if not await g.checked():
        return _blocked(await g.refuse(), g)
    answerer, plan = g.call.services.answerer, g.plan()
    numbers: dict[int, int] = {}  # chunk id -> [n] in the combined answer
    citations: list[Citation] = []
    answers: list[PartAnswer] = []
    for part, sources in zip(parts, found, strict=True):
        metrics: dict[str, Any] = {}
        draft = await answerer.generate(part, sources, metrics, plan)
        g.add_usage(metrics)
        local: dict[int, int] = {}
        for c in draft.citations:
            if c.chunk_id not in numbers:
                numbers[c.chunk_id] = len(numbers) + 1
                citations.append(c.model_copy(update={"n": numbers[c.chunk_id]}))
            local[c.n] = numbers[c.chunk_id]
        text = renumber(draft.answer, local) if local else draft.answer
        answers.append(PartAnswer(question=part, answer=text, citations=cited(text)))
    if g.model is not None and len(answers) > 1:
        combined = await g.complete(_combine(g, answers))
    else:
        combined = "\n".join(
            a.answer if len(answers) == 1 else f"{a.question}: {a.answer}" for a in answers
        )
    kept = set(cited(combined)) or set(numbers.values())
    done = await g.finish(combined, [c for c in citations if c.n in kept])
    return MultipartAnswer(
        answer=done.answer,
        citations=done.citations,
        answerer=g.answerer,
        query_id=done.query_id,
        blocked=done.blocked,
        parts=[] if done.blocked else answers,
        decomposed_by=decomposed_by,
    )


def _split(g: Grounding) -> list[ChatMessage]:
    return [ChatMessage("system", SPLIT_PROMPT), ChatMessage("user", g.query)]


def _combine(g: Grounding, answers: list[PartAnswer]) -> list[ChatMessage]:
    parts = "\n\n".join(
        f"Part {i}: {a.question}\nAnswer: {a.answer}" for i, a in enumerate(answers, start=1)
    )
    user = f"Question: {g.query}\n\n{parts}\n\nCombined answer:"
    return [g.system(COMBINE_PROMPT), ChatMessage("user", user)]


def _blocked(done: Finished, g: Grounding) -> MultipartAnswer:
    return MultipartAnswer(
        answer=done.answer,
        citations=[],
        answerer=g.answerer,
        query_id=done.query_id,
        blocked=True,
        parts=[],
        decomposed_by=g.answerer,
    )
