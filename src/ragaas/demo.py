"""The demo seed: on a fresh embedded install, an organisation with a few sample documents."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

from sqlalchemy.exc import IntegrityError

from ragaas.admin import service as admin_service
from ragaas.auth.permissions import permissions_for
from ragaas.auth.principal import Principal
from ragaas.documents.service import Upload, submit
from ragaas.errors import Conflict
from ragaas.runtime import Runtime

DEMO_ORG = "Demo"
DEMO_EMAIL = "admin@demo.example"
DEMO_LABELS = ["demo"]


@dataclass(frozen=True)
class DemoCredentials:
    organization_id: uuid.UUID
    email: str
    password: str
    api_key: str


def demo_files() -> list[Traversable]:
    """The sample Markdown documents shipped inside the package."""
    folder = resources.files("ragaas") / "demo_docs"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)


def demo_uploads() -> list[Upload]:
    """One upload per sample document (the title becomes its first heading once parsed)."""
    return [
        Upload(
            data=f.read_bytes(),
            title=None,
            content_type="text/markdown",
            filename=f.name,
            external_id=f"demo:{f.name}",
            labels=DEMO_LABELS,
        )
        for f in demo_files()
    ]


async def seed_demo(runtime: Runtime) -> DemoCredentials | None:
    """Create the demo organisation and queue its documents; None if any organisation exists."""
    password = secrets.token_urlsafe(12)
    async with runtime.sessionmaker() as session:
        if await admin_service.count_organizations(session) > 0:
            return None
        try:
            org, user, key = await admin_service.bootstrap(session, DEMO_ORG, DEMO_EMAIL, password)
        except (Conflict, IntegrityError):
            return None  # another process seeded at the same moment
        principal = Principal(user.id, org.id, user.role, permissions_for(user.role))
        max_bytes = runtime.settings.max_upload_bytes
        for upload in demo_uploads():
            await submit(session, runtime.blobs, principal.organization_id, upload, max_bytes)
        await session.commit()
    return DemoCredentials(org.id, user.email, password, key)
