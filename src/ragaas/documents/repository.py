"""Document and chunk queries, scoped to one organisation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select

from ragaas.models import Chunk, Document
from ragaas.tenancy.repository import OrgRepository


class DocumentRepository(OrgRepository[Document]):
    model = Document
    noun = "document"

    async def by_external_id(
        self, external_id: str, data_source_id: uuid.UUID | None = None
    ) -> Document | None:
        """The document with this external id in that source (None: uploaded directly), if any."""
        stmt = self.base().where(
            Document.external_id == external_id,
            Document.data_source_id.is_(None)
            if data_source_id is None
            else Document.data_source_id == data_source_id,
        )
        doc: Document | None = (await self.session.scalars(stmt)).first()
        return doc

    async def by_content_hash(self, content_hash: str) -> Document | None:
        """A document without external id holding exactly this content, if any."""
        stmt = self.base().where(
            Document.content_hash == content_hash, Document.external_id.is_(None)
        )
        doc: Document | None = (await self.session.scalars(stmt.limit(1))).first()
        return doc

    def filtered(
        self,
        status: str | None = None,
        label: list[str] | None = None,
        data_source_id: uuid.UUID | None = None,
        title: str | None = None,
    ) -> Select[Any]:
        """The organisation's documents matching every given filter."""
        stmt = self.base()
        if status:
            stmt = stmt.where(Document.status == status)
        if label:
            stmt = stmt.where(Document.labels.contains(label))
        if data_source_id:
            stmt = stmt.where(Document.data_source_id == data_source_id)
        if title:
            stmt = stmt.where(Document.title.ilike(f"%{_escape_like(title)}%", escape="\\"))
        return stmt

    async def page(self, stmt: Select[Any], limit: int, offset: int) -> tuple[list[Document], int]:
        """One page of ``stmt``, newest first, and the total count."""
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(
            stmt.order_by(Document.created_at.desc(), Document.id).limit(limit).offset(offset)
        )
        docs: list[Document] = list(rows.all())
        return docs, int(total or 0)

    async def chunks(self, document_id: uuid.UUID) -> list[Any]:
        """The document's chunks in order, with whether each has its vector yet."""
        stmt = (
            select(Chunk, Chunk.embedding.is_not(None).label("embedded"))
            .where(Chunk.organization_id == self.organization_id)
            .where(Chunk.document_id == document_id)
            .order_by(Chunk.chunk_number)
        )
        return list((await self.session.execute(stmt)).all())


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
