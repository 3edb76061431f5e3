"""Versioned named configurations: a change writes a new version; the latest one is in force."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.configs.schemas import RagConfigCreate, RagConfigUpdate, RagParams
from ragaas.errors import Conflict, NotFound
from ragaas.models import RagConfig


async def current_all(session: AsyncSession, organization_id: uuid.UUID) -> list[RagConfig]:
    """The latest version of every configuration, by name."""
    latest = (
        select(RagConfig.name, func.max(RagConfig.version).label("version"))
        .where(RagConfig.organization_id == organization_id)
        .group_by(RagConfig.name)
        .subquery()
    )
    stmt = (
        select(RagConfig)
        .join(latest, (RagConfig.name == latest.c.name) & (RagConfig.version == latest.c.version))
        .where(RagConfig.organization_id == organization_id)
        .order_by(RagConfig.name)
    )
    return list(await session.scalars(stmt))


async def current(session: AsyncSession, organization_id: uuid.UUID, name: str) -> RagConfig:
    """The configuration's latest version; 404 if there is none by that name."""
    stmt = (
        select(RagConfig)
        .where(RagConfig.organization_id == organization_id, RagConfig.name == name)
        .order_by(RagConfig.version.desc())
        .limit(1)
    )
    found = (await session.scalars(stmt)).first()
    if found is None:
        raise NotFound(f"RAG configuration {name!r} not found")
    return found


async def default(session: AsyncSession, organization_id: uuid.UUID) -> RagConfig | None:
    """The organisation's default configuration, if one is marked."""
    stmt = select(RagConfig).where(
        RagConfig.organization_id == organization_id, RagConfig.is_default.is_(True)
    )
    return (await session.scalars(stmt.order_by(RagConfig.version.desc()).limit(1))).first()


async def resolve(
    session: AsyncSession, organization_id: uuid.UUID, name: str | None
) -> RagConfig | None:
    """The named configuration (404 if unknown), else the default, else None (server settings)."""
    if name is not None:
        return await current(session, organization_id, name)
    return await default(session, organization_id)


async def versions(session: AsyncSession, organization_id: uuid.UUID, name: str) -> list[RagConfig]:
    """Every version of a configuration, newest first."""
    stmt = (
        select(RagConfig)
        .where(RagConfig.organization_id == organization_id, RagConfig.name == name)
        .order_by(RagConfig.version.desc())
    )
    found = list(await session.scalars(stmt))
    if not found:
        raise NotFound(f"RAG configuration {name!r} not found")
    return found


async def create(
    session: AsyncSession, organization_id: uuid.UUID, body: RagConfigCreate
) -> RagConfig:
    exists = await session.scalar(
        select(func.count())
        .select_from(RagConfig)
        .where(RagConfig.organization_id == organization_id, RagConfig.name == body.name)
    )
    if exists:
        raise Conflict(f"a RAG configuration named {body.name!r} exists; change it with PUT")
    return await _write(session, organization_id, body.name, 1, body.params, body.is_default)


async def change(
    session: AsyncSession, organization_id: uuid.UUID, name: str, body: RagConfigUpdate
) -> RagConfig:
    """Write the next version (the previous ones stay, for the queries that used them)."""
    latest = await current(session, organization_id, name)
    params = body.params if body.params is not None else RagParams.model_validate(latest.params)
    is_default = latest.is_default if body.is_default is None else body.is_default
    latest.is_default = False
    return await _write(session, organization_id, name, latest.version + 1, params, is_default)


async def remove(session: AsyncSession, organization_id: uuid.UUID, name: str) -> None:
    await current(session, organization_id, name)
    await session.execute(
        delete(RagConfig).where(
            RagConfig.organization_id == organization_id, RagConfig.name == name
        )
    )


async def _write(
    session: AsyncSession,
    organization_id: uuid.UUID,
    name: str,
    version: int,
    params: RagParams,
    is_default: bool,
) -> RagConfig:
    if is_default:
        # One default per organisation: only the latest version of one configuration carries it.
        await session.execute(
            update(RagConfig)
            .where(RagConfig.organization_id == organization_id)
            .values(is_default=False)
        )
    row = RagConfig(
        id=uuid.uuid4(),
        organization_id=organization_id,
        name=name,
        version=version,
        is_default=is_default,
        params=params.model_dump(mode="json", exclude_none=True),
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"RAG configuration {name!r} changed meanwhile; retry") from None
    return row
