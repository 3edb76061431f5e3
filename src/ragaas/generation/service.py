"""Answering a question: retrieve, then generate (LLM) or extract, with citations and metrics."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.analytics.history import record_query
from ragaas.auth.principal import Principal
from ragaas.configs.apply import Resolved, resolve, retrieval_for
from ragaas.generation import extractive, prompts
from ragaas.generation.plan import GenerationPlan
from ragaas.generation.schemas import ChatRequest, ChatResponse, Citation
from ragaas.providers.llm.base import ChatModel, Completion
from ragaas.retrieval.repository import with_neighbours
from ragaas.retrieval.schemas import SearchResult
from ragaas.retrieval.service import Searcher
from ragaas.settings import Settings

NOT_FOUND = "I could not find an answer to that in your documents."
SNIPPET_CHARS = 300


@dataclass
class Draft:
    """An answer before it is recorded: its text, the sources it cites, and its metrics."""

    answer: str
    citations: list[Citation]
    metrics: dict[str, Any]


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
    """Tokens and cost of one LLM call."""
    cost = (
        completion.tokens_in * settings.llm_price_per_1k_input
        + completion.tokens_out * settings.llm_price_per_1k_output
    ) / 1000
    return {
        "llm_model": completion.model or model.name,
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
        self, session: AsyncSession, principal: Principal, body: ChatRequest, config: Resolved
    ) -> tuple[list[SearchResult], dict[str, Any]]:
        """The passages to answer from, and the retrieval metrics."""
        plan = retrieval_for(body, config.params)
        outcome = await self.searcher.tuned(config.params).search(
            session, principal.organization_id, body.query, plan.top_k, plan.mode, plan.filters
        )
        results = outcome.results
        if config.params.context_window:
            results = await with_neighbours(
                session, principal.organization_id, results, config.params.context_window
            )
        metrics: dict[str, Any] = {"mode": plan.mode.value, "top_k": plan.top_k}
        config.record(metrics)
        metrics["timings_ms"] = {f"retrieve_{k}": v for k, v in outcome.timings_ms.items()}
        metrics["retrieved"] = len(results)
        return results, metrics

    def plan(self, config: Resolved) -> GenerationPlan:
        return GenerationPlan.from_params(config.params, self.settings)

    async def draft(
        self, session: AsyncSession, principal: Principal, body: ChatRequest, config: Resolved
    ) -> Draft:
        """Retrieve and answer (without recording)."""
        started = time.perf_counter()
        sources, metrics = await self.retrieve(session, principal, body, config)
        metrics["timings_ms"]["retrieve_ms"] = _ms(started)
        generated = time.perf_counter()
        plan = self.plan(config)
        citations: list[Citation] = []
        if not sources:
            answer = NOT_FOUND
        elif self.chat_model is None:
            answer, citations = extractive_answer(body.query, sources)
            metrics["answerer"] = "extractive"
        else:
            completion = await self.chat_model.complete(
                plan.messages(body.query, sources),
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
        metrics["timings_ms"]["generate_ms"] = _ms(generated)
        metrics["timings_ms"]["total_ms"] = _ms(started)
        return Draft(answer, citations, metrics)

    async def answer(
        self, session: AsyncSession, principal: Principal, body: ChatRequest
    ) -> ChatResponse:
        """Answer the question and record it in the query history."""
        config = await resolve(session, principal.organization_id, body.config)
        draft = await self.draft(session, principal, body, config)
        query_id = await self.record(session, principal, body.query, draft, config)
        return ChatResponse(
            answer=draft.answer, citations=draft.citations, query_id=query_id, metrics=draft.metrics
        )

    async def record(
        self,
        session: AsyncSession,
        principal: Principal,
        query: str,
        draft: Draft,
        config: Resolved,
    ) -> uuid.UUID:
        """Write the query_history row and commit."""
        row = await record_query(
            session,
            principal,
            kind="chat",
            query=query,
            answer=draft.answer,
            citations=[c.model_dump(mode="json") for c in draft.citations],
            metrics=draft.metrics,
            config_name=config.name,
        )
        await session.commit()
        return row.id


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
