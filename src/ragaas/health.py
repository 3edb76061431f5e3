"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ragaas.errors import problem
from ragaas.migrate import is_current

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", operation_id="ready", response_model=dict[str, str])
async def ready(request: Request) -> JSONResponse:
    """The database answers and its schema is at the newest migration."""
    runtime = request.app.state.runtime
    try:
        async with runtime.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
        current = await asyncio.to_thread(is_current, runtime.url)
    except Exception:
        return problem(503, "Not ready", "the database is unreachable")
    if not current:
        return problem(503, "Not ready", "database migrations are pending: run `ragaas migrate`")
    return JSONResponse({"status": "ready"})
