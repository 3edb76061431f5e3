"""An HTTP rerank API: Cohere/Jina style (``/rerank`` → ``results[].relevance_score``) or TEI
style (``/rerank`` with ``texts`` → ``[{index, score}]``)."""

from __future__ import annotations

from typing import Any

import httpx

from ragaas.providers.rerank.base import RerankError


class HttpReranker:
    def __init__(self, url: str, model: str, api_key: str | None, timeout: float) -> None:
        self.name = model
        self._url = url
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def score(self, query: str, passages: list[str]) -> list[float]:
        """Scores from the API, re-ordered to the passages' order."""
        if not passages:
            return []
        body = {"model": self.name, "query": query, "documents": passages, "texts": passages}
        try:
            response = await self._client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise RerankError(f"rerank API unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise RerankError(f"rerank API returned HTTP {response.status_code}")
        return _scores(response.json(), len(passages))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _scores(payload: Any, count: int) -> list[float]:
    items = payload.get("results") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise RerankError("rerank API answered in an unknown shape")
    scores = [float("-inf")] * count
    for item in items:
        value = item.get("relevance_score", item.get("score"))
        index = item.get("index")
        if not isinstance(index, int) or not 0 <= index < count or value is None:
            raise RerankError("rerank API answered in an unknown shape")
        scores[index] = float(value)
    return scores
