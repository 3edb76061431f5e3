"""One query under its organisation's configuration and rules, stage by stage.

Search and chat both start a ``Guarded`` query: it resolves the RAG configuration, loads the active
rules (both once per settings generation: tenancy/settings_cache.py) and the caller's user record,
and then runs each stage's rules when the pipeline reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth.principal import Principal
from ragaas.configs.apply import Resolved, Retrieval, RetrievalRequest, merge_filters, resolve
from ragaas.configs.apply import retrieval_for as config_retrieval
from ragaas.rules.engine import QueryState, RuleEngine, new_state
from ragaas.rules.schemas import Stage
from ragaas.tenancy.settings_cache import SETTINGS


@dataclass
class Guarded:
    session: AsyncSession
    principal: Principal
    engine: RuleEngine
    state: QueryState

    @classmethod
    async def start(
        cls, session: AsyncSession, principal: Principal, query: str, config_name: str | None
    ) -> Guarded:
        config = await _resolve(session, principal, config_name)
        engine = await _rules(session, principal)
        state = await new_state(session, principal, query, config)
        return cls(session, principal, engine, state)

    @property
    def blocked(self) -> str | None:
        return self.state.blocked

    @property
    def config(self) -> Resolved:
        return self.state.config

    async def stage(self, stage: Stage) -> bool:
        """Run the stage's rules; False when a rule blocked the query."""
        await self.engine.run(stage, self.state, self._switch)
        return self.state.blocked is None

    async def _switch(self, name: str) -> Resolved:
        return await _resolve(self.session, self.principal, name)

    def retrieval(self, body: RetrievalRequest) -> Retrieval:
        """The request, its configuration and the rules' restrictions, combined."""
        plan = config_retrieval(body, self.config.params)
        filters = merge_filters(self.state.restrict, plan.filters)
        return Retrieval(plan.top_k, plan.mode, filters)

    def record(self, metrics: dict[str, Any]) -> None:
        """Configuration, rules fired and block reason, into a query's metrics."""
        self.config.record(metrics)
        self.state.record(metrics)
        if self.blocked is not None:
            metrics["blocked"] = self.blocked


async def _resolve(session: AsyncSession, principal: Principal, name: str | None) -> Resolved:
    """The configuration (``configs.apply.resolve``), once per settings generation."""
    org = principal.organization_id
    return await SETTINGS.get(
        org, principal.settings_generation, ("config", name), lambda: resolve(session, org, name)
    )


async def _rules(session: AsyncSession, principal: Principal) -> RuleEngine:
    """The active rules, once per settings generation."""
    org = principal.organization_id

    async def load() -> RuleEngine:
        engine = await RuleEngine.load(session, org)
        # Later requests reuse these objects: detach them, or this session's rollback (a failed
        # request) would expire them for everyone.
        for rule in engine.rules:
            session.expunge(rule)
        return engine

    return await SETTINGS.get(org, principal.settings_generation, "rules", load)
