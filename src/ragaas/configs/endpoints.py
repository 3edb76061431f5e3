"""/v1/rag-configs: named, versioned pipeline configurations."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response, status

from ragaas.audit import changed, record
from ragaas.auth.dependencies import QueryPrincipal, RagConfigWriter
from ragaas.configs import service
from ragaas.configs.schemas import RagConfigCreate, RagConfigOut, RagConfigUpdate
from ragaas.db import Session
from ragaas.openapi import problem_responses

router = APIRouter(prefix="/v1/rag-configs", tags=["rag configs"])
Name = Path(min_length=1, max_length=200)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="rag_configs_create",
    responses=problem_responses(409),
)
async def create(
    body: RagConfigCreate, request: Request, principal: RagConfigWriter, session: Session
) -> RagConfigOut:
    """Create a configuration (version 1); `is_default` makes it the organisation's default."""
    row = await service.create(session, principal.organization_id, body)
    details = {"version": row.version, "is_default": row.is_default}
    record(session, principal, "rag_config.create", "rag_config", row.name, details, request)
    await session.commit()
    return RagConfigOut.model_validate(row)


@router.get("", operation_id="rag_configs_list")
async def list_configs(principal: QueryPrincipal, session: Session) -> list[RagConfigOut]:
    """Every configuration, at its latest version."""
    rows = await service.current_all(session, principal.organization_id)
    return [RagConfigOut.model_validate(r) for r in rows]


@router.get("/{name}", operation_id="rag_configs_get")
async def get(principal: QueryPrincipal, session: Session, name: str = Name) -> RagConfigOut:
    """A configuration's latest version."""
    return RagConfigOut.model_validate(
        await service.current(session, principal.organization_id, name)
    )


@router.get("/{name}/versions", operation_id="rag_configs_versions")
async def get_versions(
    principal: QueryPrincipal, session: Session, name: str = Name
) -> list[RagConfigOut]:
    """Every version of a configuration, newest first."""
    rows = await service.versions(session, principal.organization_id, name)
    return [RagConfigOut.model_validate(r) for r in rows]


@router.put("/{name}", operation_id="rag_configs_update", responses=problem_responses(409))
async def update(
    body: RagConfigUpdate,
    request: Request,
    principal: RagConfigWriter,
    session: Session,
    name: str = Name,
) -> RagConfigOut:
    """Change a configuration: writes the next version; earlier versions are kept."""
    row = await service.change(session, principal.organization_id, name, body)
    details = {"version": row.version, "changed": changed(body)}
    record(session, principal, "rag_config.update", "rag_config", row.name, details, request)
    await session.commit()
    return RagConfigOut.model_validate(row)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, operation_id="rag_configs_delete")
async def remove(
    request: Request, principal: RagConfigWriter, session: Session, name: str = Name
) -> Response:
    """Delete a configuration and its versions (history rows keep its name)."""
    await service.remove(session, principal.organization_id, name)
    record(session, principal, "rag_config.delete", "rag_config", name, None, request)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
