"""What the MCP tools run against: the same runtime and services as the REST API."""

from __future__ import annotations

from dataclasses import dataclass

from ragaas.auth.tokens import JwtKeys
from ragaas.generation.service import Answerer
from ragaas.retrieval.service import Searcher, make_searcher
from ragaas.runtime import Runtime
from ragaas.settings import Settings


@dataclass(frozen=True)
class Services:
    runtime: Runtime
    searcher: Searcher
    answerer: Answerer
    jwt_secret: JwtKeys  # every key verifies (docs/security.md, sessions)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> Services:
        """Services built the way the API builds them (for stdio, where there is no API)."""
        searcher = make_searcher(runtime)
        return cls(
            runtime=runtime,
            searcher=searcher,
            answerer=Answerer(searcher, runtime.chat_model, runtime.settings),
            jwt_secret=runtime.settings.resolved_jwt_keys(),
        )
