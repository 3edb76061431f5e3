"""The pipeline every LLM chain runs in, so chains obey the same configuration and rules as
``/v1/chat`` and land in the query history like it.

One tool call is one guarded query: its rules run before retrieval (block, redact, restrict), the
chain retrieves as often as it needs (always through the guard's filters, so a restriction to
certain labels holds for every retrieval), the after-retrieval rules see every passage, the
after-generation rules see the final text, and one query-history row records it with its
tokens and cost summed over every model call.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragaas.generation.extractive import supporting_sources
from ragaas.generation.plan import GenerationPlan
from ragaas.generation.schemas import ChatRequest, Citation
from ragaas.generation.service import Draft, citation, usage_metrics
from ragaas.mcp.calls import Call
from ragaas.mcp.chains.text import cited, renumber
from ragaas.mcp.schemas import Answerer
from ragaas.providers.llm.base import ChatMessage, ChatModel
from ragaas.retrieval.repository import with_neighbours
from ragaas.retrieval.schemas import SearchFilters, SearchResult
from ragaas.rules.guard import Guarded
from ragaas.rules.schemas import Stage

MAX_SOURCE_CHARS = 2000
_USAGE_KEYS = ("tokens_in", "tokens_out", "cost")


@dataclass(frozen=True)
class Finished:
    answer: str
    citations: list[Citation]
    query_id: uuid.UUID
    blocked: bool


@dataclass
class Grounding:
    call: Call
    guard: Guarded
    tool: str
    sources: list[SearchResult] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=lambda: {"timings_ms": {}, "retrieved": 0})
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    async def start(cls, call: Call, tool: str, query: str, config: str | None) -> Grounding:
        """A guarded query (the text the rules see and the history records) for one tool call."""
        guard = await Guarded.start(call.session, call.principal, query, config)
        return cls(call, guard, tool)

    @property
    def query(self) -> str:
        """The query as the rules left it (e.g. with personal data redacted)."""
        return self.guard.state.query

    @property
    def model(self) -> ChatModel | None:
        return self.call.services.answerer.chat_model

    @property
    def answerer(self) -> Answerer:
        return "llm" if self.model is not None else "extractive"

    async def allowed(self) -> bool:
        """The before-retrieval rules; False when one blocked the query."""
        return await self.guard.stage(Stage.BEFORE_RETRIEVAL)

    async def retrieve(
        self,
        query: str | None = None,
        *,
        document_ids: Sequence[uuid.UUID] = (),
        top_k: int | None = None,
    ) -> list[SearchResult]:
        """Passages for ``query`` (default: the guarded query) within the configuration's and the
        rules' filters, optionally only from ``document_ids``; they join ``sources``."""
        text = (query or self.query)[:4000]
        extra: dict[str, Any] = {"top_k": top_k} if top_k is not None else {}
        body = ChatRequest(
            query=text, filters=SearchFilters(document_ids=list(document_ids)), **extra
        )
        plan = self.guard.retrieval(body)
        params = self.guard.config.params
        session, org = self.call.session, self.call.principal.organization_id
        searcher = self.call.services.searcher.tuned(params)
        outcome = await searcher.search(session, org, text, plan.top_k, plan.mode, plan.filters)
        results = outcome.results
        if params.context_window:
            results = await with_neighbours(session, org, results, params.context_window)
        timings: dict[str, float] = self.metrics["timings_ms"]
        for stage, ms in outcome.timings_ms.items():
            key = f"retrieve_{stage}"
            timings[key] = round(timings.get(key, 0.0) + ms, 2)
        self.metrics["retrieved"] += len(results)
        known = {s.chunk_id for s in self.sources}
        self.sources.extend(r for r in results if r.chunk_id not in known)
        return results

    async def checked(self) -> bool:
        """The after-retrieval rules over every passage retrieved; False when one blocked."""
        self.guard.state.see_chunks(self.sources)
        self.metrics["timings_ms"]["retrieve_ms"] = _ms(self.started)
        return await self.guard.stage(Stage.AFTER_RETRIEVAL)

    def plan(self) -> GenerationPlan:
        """Model, temperature, token limit and the rules' extra instructions."""
        return self.call.services.answerer.plan(self.guard)

    def system(self, prompt: str) -> ChatMessage:
        """A system message: the chain's instructions plus any the rules added."""
        return ChatMessage("system", " ".join([prompt, *self.plan().instructions]))

    async def complete(self, messages: list[ChatMessage]) -> str:
        """One LLM call under the configuration's model settings; usage adds to the metrics."""
        model = self.model
        if model is None:
            raise RuntimeError("complete() needs a chat model; check Grounding.model first")
        plan = self.plan()
        started = time.perf_counter()
        completion = await model.complete(
            messages, max_tokens=plan.max_tokens, temperature=plan.temperature, model=plan.model
        )
        timings = self.metrics["timings_ms"]
        timings["generate_ms"] = round(timings.get("generate_ms", 0.0) + _ms(started), 2)
        self.add_usage(usage_metrics(self.call.services.settings, model, completion))
        return completion.text.strip()

    def add_usage(self, usage: dict[str, Any]) -> None:
        """Sum another model call's tokens and cost into this query's metrics."""
        if "llm_model" in usage:
            self.metrics["llm_model"] = usage["llm_model"]
        for key in _USAGE_KEYS:
            if key in usage:
                total = self.metrics.get(key, 0) + usage[key]
                self.metrics[key] = round(total, 6) if key == "cost" else total

    async def finish(self, answer: str, citations: list[Citation]) -> Finished:
        """The after-generation rules, then the query-history row (committed)."""
        self.metrics.update(answerer=self.answerer, tool=self.tool, via="mcp")
        answerer = self.call.services.answerer
        draft = await answerer.after_generation(Draft(answer, citations, self.metrics), self.guard)
        self.metrics["timings_ms"]["total_ms"] = _ms(self.started)
        self.guard.record(self.metrics)
        query_id = await answerer.record(self.guard, draft)
        return Finished(draft.answer, draft.citations, query_id, draft.blocked)

    async def refuse(self) -> Finished:
        """A rule blocked the query: its message is the answer, and the block is recorded."""
        self.metrics.update(tool=self.tool, via="mcp")
        answerer = self.call.services.answerer
        draft = answerer.blocked_draft(self.guard, self.metrics, self.started)
        query_id = await answerer.record(self.guard, draft)
        return Finished(draft.answer, [], query_id, True)


def numbered(sources: Sequence[SearchResult]) -> str:
    """The sources as the model sees them: ``[n] title`` then the passage."""
    return "\n\n".join(
        f"[{n}] {source.title}\n{source.content[:MAX_SOURCE_CHARS]}"
        for n, source in enumerate(sources, start=1)
    )


@dataclass(frozen=True)
class Cited:
    """A text whose [n] markers were renumbered 1, 2, 3... in order of first use."""

    text: str
    citations: list[Citation]
    mapping: dict[int, int]  # source number (position in the sources, 1-based) -> [n] shown


def compact(text: str, sources: Sequence[SearchResult]) -> Cited:
    """Renumber the source numbers ``text`` cites into contiguous citations. A text citing
    nothing (an LLM ignoring the instruction) cites the sources that contain most of its
    words, as ``/v1/chat`` does."""
    used = [n for n in cited(text) if 1 <= n <= len(sources)]
    if not used:
        support = supporting_sources(text, list(sources))
        return Cited(text, [citation(n, sources[n - 1]) for n in support], {})
    mapping = {old: new for new, old in enumerate(used, start=1)}
    return Cited(
        renumber(text, mapping),
        [citation(new, sources[old - 1]) for old, new in mapping.items()],
        mapping,
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
