"""The LLM providers against the real local model behind its real OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from ragaas.providers.llm.base import ChatMessage, LLMError, Usage
from ragaas.providers.llm.local import LocalSmolLM
from ragaas.providers.llm.openai_compatible import OpenAICompatibleChat
from ragaas.providers.llm.registry import make_chat_model
from tests.conftest import LOCAL_LLM_KEY as API_KEY
from tests.conftest import listening_socket

QUESTION = [
    ChatMessage("system", "You answer questions from the given context. Be brief."),
    ChatMessage(
        "user",
        "Context:\nThe capital of Freedonia is Zubrowka.\n\n"
        "Question: What is the capital of Freedonia?",
    ),
]
TOO_LONG = [ChatMessage("user", "word " * 3000)]  # ~3000 tokens > the 2048-token context


@pytest.fixture(scope="module")
async def chat(local_llm_url: str) -> AsyncIterator[OpenAICompatibleChat]:
    client = OpenAICompatibleChat(
        base_url=local_llm_url, model="SmolLM2-135M-Instruct", api_key=API_KEY, timeout=60
    )
    yield client
    await client.aclose()


async def test_complete_answers_from_context(chat: OpenAICompatibleChat) -> None:
    completion = await chat.complete(QUESTION, max_tokens=48, temperature=0)

    assert "Zubrowka" in completion.text
    assert completion.tokens_in > 0
    assert completion.tokens_out > 0
    assert completion.model == "SmolLM2-135M-Instruct"


async def test_stream_yields_deltas_then_usage(chat: OpenAICompatibleChat) -> None:
    stream = chat.stream(QUESTION, max_tokens=48, temperature=0)
    assert stream.usage is None

    deltas = [delta async for delta in stream]

    assert len(deltas) > 1  # really streamed, not one blob
    assert "Zubrowka" in "".join(deltas)
    assert stream.usage is not None
    assert stream.usage.tokens_in > 0
    assert stream.usage.tokens_out >= len(deltas)


async def test_stream_closed_early_leaves_model_usable(chat: OpenAICompatibleChat) -> None:
    long_prompt = [ChatMessage("user", "Write a long story about a dragon.")]
    async with chat.stream(long_prompt, max_tokens=400, temperature=0) as stream:
        first = await anext(stream)
    assert first

    completion = await chat.complete(QUESTION, max_tokens=48, temperature=0)
    assert "Zubrowka" in completion.text


async def test_prompt_longer_than_context_is_a_400(chat: OpenAICompatibleChat) -> None:
    with pytest.raises(LLMError, match=r"HTTP 400.*context size") as whole:
        await chat.complete(TOO_LONG, max_tokens=16, temperature=0)
    with pytest.raises(LLMError, match=r"HTTP 400.*context size") as streamed:
        [_ async for _ in chat.stream(TOO_LONG, max_tokens=16, temperature=0)]

    assert whole.value.status_code == streamed.value.status_code == 400


async def test_wrong_api_key_is_an_error_naming_401(local_llm_url: str) -> None:
    wrong_key = "sk-wrong-secret-key"
    client = OpenAICompatibleChat(base_url=local_llm_url, model="m", api_key=wrong_key, timeout=10)
    try:
        with pytest.raises(LLMError, match="HTTP 401: invalid API key") as info:
            await client.complete(QUESTION, max_tokens=8, temperature=0)
        with pytest.raises(LLMError, match="HTTP 401"):
            [_ async for _ in client.stream(QUESTION, max_tokens=8, temperature=0)]
    finally:
        await client.aclose()

    assert info.value.status_code == 401
    assert wrong_key not in str(info.value)


async def test_server_not_listening_is_an_error() -> None:
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()  # now nothing listens on the port
    client = OpenAICompatibleChat(base_url=f"http://u:secret@127.0.0.1:{port}/v1", model="m")
    try:
        with pytest.raises(LLMError, match="could not connect") as info:
            await client.complete(QUESTION, max_tokens=8, temperature=0)
    finally:
        await client.aclose()

    assert f"http://127.0.0.1:{port}/v1" in str(info.value)
    assert "secret" not in str(info.value)


async def test_server_that_never_answers_times_out() -> None:
    with listening_socket() as sock:  # accepts connections into its backlog, never replies
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        client = OpenAICompatibleChat(base_url=url, model="m", timeout=0.5)
        try:
            with pytest.raises(LLMError, match=r"did not answer within 0\.5 s"):
                await client.complete(QUESTION, max_tokens=8, temperature=0)
        finally:
            await client.aclose()


async def test_stream_without_usage_falls_back_to_counting() -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": word}}]} for word in ("Zub", "rowka")]
    sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream_options"] == {"include_usage": True}
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    client = OpenAICompatibleChat(
        base_url="http://llm.test/v1", model="m", transport=httpx.MockTransport(handler)
    )
    stream = client.stream([ChatMessage("user", "12345678")], max_tokens=8, temperature=0)
    assert [d async for d in stream] == ["Zub", "rowka"]
    await client.aclose()

    assert stream.usage == Usage(tokens_in=2, tokens_out=2)


@pytest.mark.parametrize("field", ["error", "data"])  # llama.cpp sends "error:", OpenAI "data:"
async def test_error_reported_mid_stream_is_raised(field: str) -> None:
    error = {"code": 400, "message": "request exceeds the available context size"}
    failure = error if field == "error" else {"error": error}
    delta = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    sse = f"data: {json.dumps(delta)}\n\n{field}: {json.dumps(failure)}\n\n"
    transport = httpx.MockTransport(lambda _: httpx.Response(200, text=sse))
    client = OpenAICompatibleChat(base_url="http://llm.test/v1", model="m", transport=transport)

    with pytest.raises(LLMError, match="available context size") as info:
        [d async for d in client.stream(QUESTION, max_tokens=8, temperature=0)]
    await client.aclose()

    assert info.value.status_code == 400


async def test_local_model_in_process_streams_and_stops_early() -> None:
    model = LocalSmolLM()
    try:
        async with model.stream(QUESTION, max_tokens=48, temperature=0) as stream:
            first = await anext(stream)
        completion = await model.complete(QUESTION, max_tokens=48, temperature=0)
    finally:
        await model.aclose()

    assert first
    assert "Zubrowka" in completion.text
    assert completion.model == "SmolLM2-135M-Instruct"


def test_registry_picks_providers() -> None:
    """Names map to providers; a missing URL or an unknown name is a clear ValueError."""
    common = {"model": "gpt-4o-mini", "api_key": None, "timeout": 5.0}

    assert make_chat_model("none", base_url=None, **common) is None
    assert isinstance(make_chat_model("local", base_url=None, **common), LocalSmolLM)
    chat = make_chat_model("openai", base_url="http://h:1/v1", **common)
    assert isinstance(chat, OpenAICompatibleChat)
    assert chat.name == "gpt-4o-mini"
    with pytest.raises(ValueError, match="base URL"):
        make_chat_model("openai", base_url=None, **common)
    with pytest.raises(ValueError, match="unknown LLM provider"):
        make_chat_model("anthropic", base_url=None, **common)
