"""How an answer is generated, once the configuration (and later the rules) have had their say."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ragaas.configs.schemas import RagParams
from ragaas.generation import prompts
from ragaas.providers.llm.base import ChatMessage
from ragaas.retrieval.schemas import SearchResult
from ragaas.settings import Settings

_MARKER = re.compile(r"\s*\[\d{1,3}\]")


@dataclass
class GenerationPlan:
    model: str | None  # None: the provider's configured model
    temperature: float
    max_tokens: int
    system_prompt: str | None
    cite: bool
    instructions: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, params: RagParams, settings: Settings) -> GenerationPlan:
        instructions = []
        if params.answer_language:
            instructions.append(f"Write the answer in {params.answer_language}.")
        return cls(
            model=params.llm_model,
            temperature=params.temperature if params.temperature is not None else 0.0,
            max_tokens=params.max_tokens or settings.llm_max_tokens,
            system_prompt=params.system_prompt,
            cite=params.citation_style != "none",
            instructions=instructions,
        )

    def messages(self, query: str, sources: list[SearchResult]) -> list[ChatMessage]:
        return prompts.build_messages(
            query,
            sources,
            system_prompt=self.system_prompt,
            cite=self.cite,
            instructions=self.instructions,
        )

    def finish(self, answer: str) -> str:
        """The answer as the caller sees it: without [n] markers when citations are off."""
        return answer if self.cite else _MARKER.sub("", answer).strip()
