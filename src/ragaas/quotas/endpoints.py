"""/v1/quota: the caller's organisation's quotas and what it uses of them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ragaas.auth.dependencies import CurrentPrincipal
from ragaas.db import Session
from ragaas.quotas.service import Defaults, Quota, limits, usage

router = APIRouter(prefix="/v1", tags=["quota"])


class QuotaItem(BaseModel):
    limit: int = Field(description="0: unlimited")
    usage: int


class QuotaOut(BaseModel):
    documents: QuotaItem
    storage_bytes: QuotaItem
    queries_per_day: QuotaItem = Field(description="Searches and chats since 00:00 UTC")


@router.get("/quota", operation_id="quota_get")
async def get_quota(principal: CurrentPrincipal, request: Request, session: Session) -> QuotaOut:
    """Your organisation's quotas and usage (set by the operator: `ragaas admin set-quota`)."""
    organization_id = principal.organization_id
    limit = await limits(session, organization_id, Defaults.of(request.app.state.settings))
    used = await usage(session, organization_id)
    return QuotaOut(
        **{q.value: QuotaItem(limit=limit[q], usage=used[q]) for q in Quota},
    )
