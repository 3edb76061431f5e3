"""Pick the chat model named in settings."""

from __future__ import annotations

from ragaas.providers.llm.base import ChatModel
from ragaas.providers.llm.local import LocalSmolLM
from ragaas.providers.llm.openai_compatible import OpenAICompatibleChat

PROVIDERS = ("none", "openai", "local")


def make_chat_model(
    provider: str, *, base_url: str | None, model: str, api_key: str | None, timeout: float
) -> ChatModel | None:
    """The chat model for ``provider``, or None for "none" (answers stay extractive)."""
    if provider == "none":
        return None
    if provider == "openai":
        if not base_url:
            raise ValueError(
                "LLM provider 'openai' needs a base URL (RAGAAS_LLM_BASE_URL), "
                "e.g. https://api.openai.com/v1 or http://localhost:11434/v1"
            )
        return OpenAICompatibleChat(
            base_url=base_url, model=model, api_key=api_key, timeout=timeout
        )
    if provider == "local":
        # There is one local model, so `model` (which defaults to a hosted model's name) and
        # the URL, key and timeout do not apply; the model loads on first use.
        return LocalSmolLM()
    raise ValueError(f"unknown LLM provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
