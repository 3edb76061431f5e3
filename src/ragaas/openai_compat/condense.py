"""Turning a conversation into one standalone search query.

With a chat model, the model rewrites the last question so it stands alone ("and in Berlin?"
after a question about Paris offices becomes "office opening hours in Berlin"). Without one, a
follow-up that leans on the conversation (a pronoun or an elliptical opener) is prefixed with the
previous user question, which is what retrieval needs to find the right passages.
"""

from __future__ import annotations

import re

from ragaas.errors import Unprocessable
from ragaas.openai_compat.schemas import Message
from ragaas.providers.llm.base import ChatMessage, ChatModel, LLMError

_FOLLOW_UP = re.compile(
    r"\b(it|its|that|this|these|those|they|them|their|he|she|him|her|there|then|"
    r"same|also|too|else|more|other)\b|^(and|but|what about|how about|why|so)\b",
    re.IGNORECASE,
)
_REWRITE = (
    "Rewrite the user's last question as one standalone search query that can be understood "
    "without the conversation. Reply with the query only."
)


def last_user_question(messages: list[Message]) -> tuple[str, list[Message]]:
    """The final user message's text and the conversation before it."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user" and messages[index].text().strip():
            return messages[index].text().strip(), messages[:index]
    raise Unprocessable("messages has no user message with text: nothing to answer")


async def standalone_query(messages: list[Message], model: ChatModel | None) -> str:
    question, history = last_user_question(messages)
    turns = [m for m in history if m.role in ("user", "assistant") and m.text().strip()]
    if not turns:
        return question
    if model is not None:
        transcript = "\n".join(f"{m.role}: {m.text().strip()}" for m in turns[-6:])
        prompt = [
            ChatMessage("system", _REWRITE),
            ChatMessage("user", f"{transcript}\nuser: {question}\n\nStandalone query:"),
        ]
        try:
            completion = await model.complete(prompt, max_tokens=64, temperature=0.0)
        except LLMError:
            completion = None  # the heuristic below still gives a usable query
        if completion is not None and completion.text.strip():
            return completion.text.strip().strip('"')
    previous = [m.text().strip() for m in turns if m.role == "user"]
    if previous and _FOLLOW_UP.search(question):
        return f"{previous[-1]} {question}"
    return question
