"""Answering a question: retrieve, then generate (LLM) or extract, with citations and metrics."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.analytics.history import record_query
from ragaas.auth.principal import Principal
from ragaas.generation import extractive, prompts
from ragaas.generation.plan import GenerationPlan
from ragaas.generation.schemas import ChatRequest, ChatResponse, Citation
from ragaas.notifications import events
from ragaas.providers.llm.base import ChatModel, Completion
from ragaas.retrieval.repository import with_neighbours
from ragaas.retrieval.schemas import SearchResult
from ragaas.retrieval.service import Searcher
from ragaas.rules.guard import Guarded
from ragaas.rules.schemas import Stage
from ragaas.settings import Settings

NOT_FOUND = "I could not find an answer to that in your documents."
SNIPPET_CHARS = 300


@dataclass
class Draft:
    """An answer before it is recorded: its text, the sources it cites, and its metrics."""

    answer: str
    citations: list[Citation]
    metrics: dict[str, Any]
    blocked: bool = False


def citation(n: int, source: SearchResult, snippet: str | None = None) -> Citation:
    """A citation numbered ``n`` pointing at a retrieved passage."""
    return Citation(
        n=n,
        chunk_id=source.chunk_id,
        document_id=source.document_id,
        external_id=source.external_id,
        title=source.title,
        url=source.url,
        snippet=(snippet or source.content)[:SNIPPET_CHARS],
    )


def extractive_answer(query: str, sources: list[SearchResult]) -> tuple[str, list[Citation]]:
    """The best supporting sentences, each followed by the number of its source."""
    picked = extractive.pick_sentences(query, sources)
    if not picked:
        return NOT_FOUND, []
    numbers: dict[int, int] = {}
    parts, citations = [], []
    for item in picked:
        if item.source_index not in numbers:
            numbers[item.source_index] = len(numbers) + 1
            n = numbers[item.source_index]
            citations.append(citation(n, sources[item.source_index], item.sentence))
        parts.append(f"{item.sentence} [{numbers[item.source_index]}]")
    return " ".join(parts), citations


def llm_citations(answer: str, sources: list[SearchResult]) -> list[Citation]:
    """Citations for the sources the answer cites by number, else those it visibly draws on."""
    numbers = prompts.cited_numbers(answer, len(sources)) or extractive.supporting_sources(
        answer, sources
    )
    return [citation(n, sources[n - 1]) for n in numbers]


def usage_metrics(settings: Settings, model: ChatModel, completion: Completion) -> dict[str, Any]:
    """Tokens and cost of one LLM call (priced by the model that answered)."""
    name = completion.model or model.name
    price_in, price_out = settings.price_per_1k(name)
    cost = (completion.tokens_in * price_in + completion.tokens_out * price_out) / 1000
    return {
        "llm_model": name,
        "tokens_in": completion.tokens_in,
        "tokens_out": completion.tokens_out,
        "cost": round(cost, 6),
    }


@dataclass
class Answerer:
    searcher: Searcher
    chat_model: ChatModel | None
    settings: Settings

    async def retrieve(
        self, body: ChatRequest, guard: Guarded
    ) -> tuple[list[SearchResult], dict[str, Any]]:
        """The passages to answer from, and the retrieval metrics."""
        session, org = guard.session, guard.principal.organization_id
        params = guard.config.params
        plan = guard.retrieval(body)
        outcome = await self.searcher.tuned(params).search(
            session, org, guard.state.query, plan.top_k, plan.mode, plan.filters
        )
        results = outcome.results
        if params.context_window:
            results = await with_neighbours(session, org, results, params.context_window)
        metrics: dict[str, Any] = {"mode": plan.mode.value, "top_k": plan.top_k}
        metrics["timings_ms"] = {f"retrieve_{k}": v for k, v in outcome.timings_ms.items()}
        metrics["retrieved"] = len(results)
        return results, metrics

    def plan(self, guard: Guarded) -> GenerationPlan:
        plan = GenerationPlan.from_params(guard.config.params, self.settings)
        plan.instructions.extend(guard.state.instructions)
        return plan

    async def draft(self, body: ChatRequest, guard: Guarded) -> Draft:
        """Rules, retrieval, rules, generation, rules (nothing recorded yet)."""
        started = time.perf_counter()
        if not await guard.stage(Stage.BEFORE_RETRIEVAL):
            return self.blocked_draft(guard, {"timings_ms": {}}, started)
        sources, metrics = await self.retrieve(body, guard)
        metrics["timings_ms"]["retrieve_ms"] = _ms(started)
        guard.state.see_chunks(sources)
        if not await guard.stage(Stage.AFTER_RETRIEVAL):
            return self.blocked_draft(guard, metrics, started)
        generated = time.perf_counter()
        draft = await self.generate(guard.state.query, sources, metrics, self.plan(guard))
        metrics["timings_ms"]["generate_ms"] = _ms(generated)
        draft = await self.after_generation(draft, guard)
        metrics["timings_ms"]["total_ms"] = _ms(started)
        guard.record(metrics)
        return draft

    async def generate(
        self,
        query: str,
        sources: list[SearchResult],
        metrics: dict[str, Any],
        plan: GenerationPlan,
    ) -> Draft:
        """An answer to ``query`` from ``sources``: the LLM, or extraction without one."""
        citations: list[Citation] = []
        if not sources:
            answer = NOT_FOUND
        elif self.chat_model is None:
            answer, citations = extractive_answer(query, sources)
            metrics["answerer"] = "extractive"
        else:
            completion = await self.chat_model.complete(
                plan.messages(query, sources),
                max_tokens=plan.max_tokens,
                temperature=plan.temperature,
                model=plan.model,
            )
            answer = completion.text.strip()
            citations = llm_citations(answer, sources)
            metrics.update(usage_metrics(self.settings, self.chat_model, completion))
            metrics["answerer"] = "llm"
        if not plan.cite:
            answer, citations = plan.finish(answer), []
        return Draft(answer, citations, metrics)

    async def after_generation(self, draft: Draft, guard: Guarded) -> Draft:
        """The after-generation rules on a finished answer (they may redact, cap or refuse it)."""
        state = guard.state
        state.answer, state.cited = draft.answer, len(draft.citations)
        if not await guard.stage(Stage.AFTER_GENERATION):
            return Draft(guard.blocked or "", [], draft.metrics, blocked=True)
        citations = [] if state.answer_replaced else draft.citations
        return Draft(state.answer or "", citations, draft.metrics)

    def blocked_draft(self, guard: Guarded, metrics: dict[str, Any], started: float) -> Draft:
        metrics.setdefault("timings_ms", {})["total_ms"] = _ms(started)
        guard.record(metrics)
        return Draft(guard.blocked or "", [], metrics, blocked=True)

    async def answer(
        self, session: AsyncSession, principal: Principal, body: ChatRequest
    ) -> ChatResponse:
        """Answer the question and record it in the query history."""
        guard = await Guarded.start(session, principal, body.query, body.config)
        draft = await self.draft(body, guard)
        query_id = await self.record(guard, draft)
        return ChatResponse(
            answer=draft.answer,
            citations=draft.citations,
            query_id=query_id,
            metrics=draft.metrics,
            blocked=draft.blocked,
        )

    async def record(
        self, guard: Guarded, draft: Draft, session: AsyncSession | None = None
    ) -> uuid.UUID:
        """Write the query_history row (the query as the rules left it, e.g. redacted); commit."""
        session = session or guard.session
        query_id = await record_query(
            session,
            guard.principal,
            kind="chat",
            query=guard.state.query,
            answer=draft.answer,
            citations=[c.model_dump(mode="json") for c in draft.citations],
            metrics=draft.metrics,
            config_name=guard.config.name,
            blocked=draft.blocked,
        )
        await events.emit(
            session,
            guard.principal.organization_id,
            events.GUARDRAIL_FIRED,
            events.fired(guard, "chat", query_id),
        )
        await session.commit()
        return query_id


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
