"""The one place where tenant-owned reads are scoped to the caller's organisation."""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.errors import NotFound

T = TypeVar("T")


class OrgRepository(Generic[T]):
    """Base repository: every statement starts from ``base()``, already filtered by organisation."""

    model: type[T]
    noun = "object"

    def __init__(self, session: AsyncSession, organization_id: uuid.UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    def base(self) -> Select[Any]:
        """SELECT of this repository's model limited to the organisation."""
        column: Any = self.model.organization_id  # type: ignore[attr-defined]
        return select(self.model).where(column == self.organization_id)

    async def get(self, object_id: uuid.UUID) -> T:
        """The object with this id in the organisation; 404 otherwise (never 403)."""
        id_column: Any = self.model.id  # type: ignore[attr-defined]
        found: T | None = (
            await self.session.scalars(self.base().where(id_column == object_id))
        ).first()
        if found is None:
            raise NotFound(f"{self.noun} {object_id} not found")
        return found

    async def count(self, stmt: Select[Any]) -> int:
        """How many rows ``stmt`` (built from ``base()``) returns."""
        total = await self.session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        return int(total or 0)

    def add(self, obj: T) -> T:
        """Stage a new object, stamping it with the organisation."""
        obj.organization_id = self.organization_id  # type: ignore[attr-defined]
        self.session.add(obj)
        return obj
