"""Running an organisation's rules at the three stages of a query.

A ``QueryState`` travels through the pipeline; at each stage the active rules of that stage run in
priority order (lower first, then oldest first). A rule whose condition holds applies its action to
the state; a ``block`` stops the query there. Every rule that fired is listed in ``state.fired``
(stored in ``query_history.metrics.rules``); a condition that fails to evaluate does not fire and is
listed in ``state.errors``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.auth.principal import Principal
from ragaas.configs.apply import Resolved
from ragaas.models import Rule, User
from ragaas.retrieval.schemas import SearchFilters, SearchResult
from ragaas.rules import pii
from ragaas.rules.conditions import ConditionError, evaluate
from ragaas.rules.schemas import (
    Action,
    Block,
    CapLength,
    Instruct,
    Redact,
    RequireCitations,
    Restrict,
    Stage,
    SwitchConfig,
)

log = logging.getLogger(__name__)
_ACTION = TypeAdapter(Action)
ConfigResolver = Callable[[str], Awaitable[Resolved]]


@dataclass
class QueryState:
    """What the rules see and may change, from the question to the answer."""

    user: dict[str, Any]
    organization_id: uuid.UUID
    query: str
    config: Resolved
    restrict: SearchFilters = field(default_factory=SearchFilters)
    instructions: list[str] = field(default_factory=list)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    answer: str | None = None
    cited: int = 0
    answer_replaced: bool = False  # a rule put its own text in place of the answer
    blocked: str | None = None
    fired: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def context(self, stage: Stage) -> dict[str, Any]:
        """The CEL context (documented in docs/rules.md)."""
        return {
            "stage": stage.value,
            "user": self.user,
            "organization": {"id": str(self.organization_id)},
            "query": self.query,
            "entities": pii.find(self.query),
            "config": {
                "name": self.config.name or "",
                "version": self.config.version or 0,
                "params": self.config.params.model_dump(mode="json", exclude_none=True),
            },
            "chunks": self.chunks,
            "answer": self.answer or "",
            "citations": self.cited,
        }

    def see_chunks(self, results: list[SearchResult]) -> None:
        self.chunks = [
            {
                "title": r.title,
                "document_id": str(r.document_id),
                "labels": r.labels,
                "metadata": r.metadata,
                "score": r.score,
            }
            for r in results
        ]

    def record(self, metrics: dict[str, Any]) -> None:
        """Note what the rules did in a query's metrics."""
        if self.fired:
            metrics["rules"] = self.fired
        if self.errors:
            metrics["rule_errors"] = self.errors


def user_context(principal: Principal, user: User | None) -> dict[str, Any]:
    """What rule conditions see of the caller (``user``: loaded, else the principal's own)."""
    if user is not None:
        groups, email = list(user.groups), user.email
    else:
        groups, email = list(principal.groups or ()), principal.email or ""
    return {
        "id": str(principal.user_id),
        "email": email,
        "role": principal.role,
        "roles": sorted({principal.role, *groups}),
        "groups": groups,
        "permissions": sorted(p.value for p in principal.permissions),
        "api_key": principal.api_key_id is not None,
    }


async def new_state(
    session: AsyncSession, principal: Principal, query: str, config: Resolved
) -> QueryState:
    # Authentication already read the caller's e-mail and groups; other principals load them.
    user = None if principal.email is not None else await session.get(User, principal.user_id)
    return QueryState(user_context(principal, user), principal.organization_id, query, config)


@dataclass
class RuleEngine:
    rules: list[Rule]

    @classmethod
    async def load(cls, session: AsyncSession, organization_id: uuid.UUID) -> RuleEngine:
        stmt = (
            select(Rule)
            .where(Rule.organization_id == organization_id, Rule.active.is_(True))
            .order_by(Rule.priority, Rule.created_at, Rule.id)
        )
        return cls(list(await session.scalars(stmt)))

    def has(self, stage: Stage) -> bool:
        return any(r.stage == stage.value for r in self.rules)

    async def run(self, stage: Stage, state: QueryState, resolve_config: ConfigResolver) -> None:
        """Apply this stage's rules to ``state`` (stops at a block)."""
        # The context (PII scan, config dump) is built once per stage, and again only after an
        # action changed the state the later rules see.
        context: dict[str, Any] | None = None
        for rule in self.rules:
            if rule.stage != stage.value or state.blocked is not None:
                continue
            context = context or state.context(stage)
            try:
                holds = evaluate(rule.condition, context)
            except ConditionError as exc:
                state.errors.append({"rule_id": str(rule.id), "name": rule.name, "error": str(exc)})
                continue
            if holds:
                action = _ACTION.validate_python(rule.action)
                detail = await _apply(action, stage, state, resolve_config)
                fired = {"rule_id": str(rule.id), "name": rule.name, "type": rule.type}
                state.fired.append({**fired, "stage": stage.value, "action": action.type, **detail})
                context = None


async def _apply(
    action: Action, stage: Stage, state: QueryState, resolve_config: ConfigResolver
) -> dict[str, Any]:
    """Change ``state`` as the action says; returns what to record about it."""
    if isinstance(action, Block):
        state.blocked = action.message
        return {}
    if isinstance(action, Redact):
        count = 0
        if "query" in action.targets and stage is Stage.BEFORE_RETRIEVAL:
            state.query, n = pii.redact(state.query, action.kinds)
            count += n
        if "answer" in action.targets and state.answer is not None:
            state.answer, n = pii.redact(state.answer, action.kinds)
            count += n
        return {"redacted": count}
    if isinstance(action, Restrict):
        r = state.restrict
        state.restrict = SearchFilters(
            labels=sorted({*r.labels, *action.labels}),
            exclude_labels=sorted({*r.exclude_labels, *action.exclude_labels}),
            metadata={**r.metadata, **action.metadata},
        )
        return {}
    if isinstance(action, SwitchConfig):
        state.config = await resolve_config(action.config)
        return {"config": action.config}
    if isinstance(action, Instruct):
        state.instructions.append(action.text)
        return {}
    if isinstance(action, RequireCitations):
        if state.answer is not None and state.cited == 0:
            state.answer, state.answer_replaced = action.message, True
            return {"refused": True}
        return {"refused": False}
    if isinstance(action, CapLength):
        if state.answer is not None and len(state.answer) > action.max_chars:
            cut = state.answer[: action.max_chars].rsplit(" ", 1)[0].rstrip(" ,;:")
            state.answer = cut + "…"
            return {"capped": True}
        return {"capped": False}
    raise AssertionError(f"unhandled action {action!r}")
