"""Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, Azure, vLLM, Ollama, TEI...)."""

from __future__ import annotations

import math

import httpx

from ragaas.providers.embeddings.base import EmbeddingError


class OpenAICompatibleEmbedder:
    def __init__(
        self, base_url: str, model: str, dimensions: int, api_key: str | None, batch_size: int = 64
    ) -> None:
        self.name = model
        self.dimensions = dimensions
        self.batch_size = batch_size
        self._url = base_url.rstrip("/") + "/embeddings"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(headers=headers, timeout=60.0)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed in batches; vectors are L2-normalised so cosine and dot agree."""
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(await self._batch(texts[start : start + self.batch_size]))
        return out

    async def _batch(self, texts: list[str]) -> list[list[float]]:
        try:
            response = await self._client.post(self._url, json={"model": self.name, "input": texts})
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"embedding endpoint {self._url} unreachable: {exc}") from None
        if response.status_code != 200:
            raise EmbeddingError(f"embedding endpoint returned HTTP {response.status_code}")
        data = sorted(response.json()["data"], key=lambda d: d["index"])
        vectors = [list(map(float, d["embedding"])) for d in data]
        if any(len(v) != self.dimensions for v in vectors):
            raise EmbeddingError(
                f"embedding endpoint returned vectors not of {self.dimensions} dims"
            )
        return [_normalise(v) for v in vectors]

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _normalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
