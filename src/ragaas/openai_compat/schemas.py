"""The subset of OpenAI's chat-completions request Ragaas reads (unknown fields are ignored)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

DEFAULT_MODEL = "ragaas"
# A user message is a question, limited like /v1/search's and /v1/chat's query; other roles
# (system prompts, earlier answers) may be longer. Over a limit: 422 naming messages.N.content.
MAX_QUESTION_CHARS = 4000
MAX_OTHER_MESSAGE_CHARS = 32000
MAX_MESSAGES = 100


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[dict[str, Any]] | None = None

    @field_validator("content")
    @classmethod
    def _bounded(cls, content: Any, info: ValidationInfo) -> Any:
        role = info.data.get("role", "user")
        limit = MAX_QUESTION_CHARS if role == "user" else MAX_OTHER_MESSAGE_CHARS
        if len(_text_of(content)) > limit:
            raise ValueError(f"a {role} message may have at most {limit} characters")
        return content

    def text(self) -> str:
        """The message's text (text parts of a multi-part content joined)."""
        return _text_of(self.content)


def _text_of(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, str):
        return content
    if not content:
        return ""
    return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(
        default=DEFAULT_MODEL,
        description="'ragaas' (the organisation's default) or a RAG configuration's name",
    )
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=8192)
