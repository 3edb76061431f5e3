"""/v1/rules: guardrails, business logic and filters, and a dry run."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.audit import changed, record
from ragaas.auth.dependencies import RulesWriter
from ragaas.auth.permissions import permissions_for
from ragaas.auth.principal import Principal
from ragaas.configs.apply import resolve
from ragaas.db import Session
from ragaas.errors import NotFound
from ragaas.models import Rule, User
from ragaas.openapi import problem_responses
from ragaas.rules import service
from ragaas.rules.engine import QueryState, RuleEngine, user_context
from ragaas.rules.schemas import RuleCreate, RuleOut, RuleTest, RuleUpdate, Stage

router = APIRouter(prefix="/v1/rules", tags=["rules"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="rules_create")
async def create(
    body: RuleCreate, request: Request, principal: RulesWriter, session: Session
) -> RuleOut:
    """Create a rule; an invalid CEL condition is refused with the parser's message."""
    rule = await service.create(session, principal.organization_id, body)
    details = {"name": rule.name, "type": rule.type, "stage": rule.stage}
    record(session, principal, "rule.create", "rule", rule.id, details, request)
    await session.commit()
    return RuleOut.model_validate(rule)


@router.get("", operation_id="rules_list")
async def list_rules(principal: RulesWriter, session: Session) -> list[RuleOut]:
    """The organisation's rules, in the order they run (stage, then priority)."""
    repo = service.RuleRepository(session, principal.organization_id)
    rows = await session.scalars(repo.base().order_by(Rule.stage, Rule.priority, Rule.created_at))
    return [RuleOut.model_validate(r) for r in rows]


@router.get("/{rule_id}", operation_id="rules_get")
async def get(rule_id: uuid.UUID, principal: RulesWriter, session: Session) -> RuleOut:
    rule = await service.RuleRepository(session, principal.organization_id).get(rule_id)
    return RuleOut.model_validate(rule)


@router.patch("/{rule_id}", operation_id="rules_update")
async def update(
    rule_id: uuid.UUID, body: RuleUpdate, request: Request, principal: RulesWriter, session: Session
) -> RuleOut:
    """Change a rule (e.g. `{"active": false}` to switch it off)."""
    rule = await service.RuleRepository(session, principal.organization_id).get(rule_id)
    await service.change(session, rule, body)
    details = {"name": rule.name, "changed": changed(body), "active": rule.active}
    record(session, principal, "rule.update", "rule", rule.id, details, request)
    await session.commit()
    return RuleOut.model_validate(rule)


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="rules_delete")
async def delete(
    rule_id: uuid.UUID, request: Request, principal: RulesWriter, session: Session
) -> Response:
    rule = await service.RuleRepository(session, principal.organization_id).get(rule_id)
    record(session, principal, "rule.delete", "rule", rule.id, {"name": rule.name}, request)
    await session.delete(rule)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/test", operation_id="rules_test", responses=problem_responses(404))
async def dry_run(body: RuleTest, principal: RulesWriter, session: Session) -> dict[str, Any]:
    """Run the active rules against a sample query and user (and sample chunks and answer)
    without retrieving, generating or recording anything."""
    state = await _sample_state(session, principal, body)
    engine = await RuleEngine.load(session, principal.organization_id)

    async def switch(name: str) -> Any:
        return await resolve(session, principal.organization_id, name)

    for stage in Stage:
        if stage is Stage.AFTER_GENERATION and body.answer is None:
            break
        await engine.run(stage, state, switch)
        if state.blocked is not None:
            break
    return {
        "blocked": state.blocked is not None,
        "message": state.blocked,
        "query": state.query,
        "filters": state.restrict.model_dump(mode="json"),
        "config": state.config.name,
        "instructions": state.instructions,
        "answer": state.answer,
        "fired": state.fired,
        "errors": state.errors,
    }


async def _sample_state(session: AsyncSession, principal: Principal, body: RuleTest) -> QueryState:
    user_id = body.user_id or principal.user_id
    user = await session.get(User, user_id)
    if user is None or user.organization_id != principal.organization_id:
        raise NotFound(f"user {user_id} not found")
    as_user = Principal(user.id, user.organization_id, user.role, permissions_for(user.role))
    config = await resolve(session, principal.organization_id, body.config)
    state = QueryState(user_context(as_user, user), principal.organization_id, body.query, config)
    state.chunks = [c.model_dump(mode="json") for c in body.chunks]
    state.answer, state.cited = body.answer, body.cited
    return state
