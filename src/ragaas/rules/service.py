"""Rules: create, change, delete; each change re-validated as a whole."""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.errors import Unprocessable
from ragaas.models import Rule
from ragaas.rules.schemas import RuleCreate, RuleUpdate
from ragaas.tenancy.repository import OrgRepository


class RuleRepository(OrgRepository[Rule]):
    model = Rule
    noun = "rule"


async def create(session: AsyncSession, organization_id: uuid.UUID, body: RuleCreate) -> Rule:
    rule = RuleRepository(session, organization_id).add(
        Rule(
            id=uuid.uuid4(),
            name=body.name,
            type=body.type.value,
            stage=body.stage.value,
            condition=body.condition,
            action=body.action.model_dump(mode="json"),
            priority=body.priority,
            active=body.active,
        )
    )
    await session.flush()
    return rule


async def change(session: AsyncSession, rule: Rule, body: RuleUpdate) -> Rule:
    """Apply the given fields, then check the rule as a whole (e.g. the action fits the stage)."""
    merged = {
        "name": rule.name,
        "type": rule.type,
        "stage": rule.stage,
        "condition": rule.condition,
        "action": rule.action,
        "priority": rule.priority,
        "active": rule.active,
    }
    merged.update(body.model_dump(exclude_unset=True, mode="json"))
    try:
        checked = RuleCreate.model_validate(merged)
    except ValidationError as exc:
        raise Unprocessable("; ".join(e["msg"] for e in exc.errors())) from None
    rule.name, rule.stage, rule.condition = checked.name, checked.stage.value, checked.condition
    rule.action = checked.action.model_dump(mode="json")
    rule.priority, rule.active = checked.priority, checked.active
    await session.flush()
    return rule
