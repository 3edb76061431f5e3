"""Who is calling: a user, possibly through an API key, inside one organisation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ragaas.auth.permissions import Permission


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    permissions: frozenset[Permission]
    api_key_id: uuid.UUID | None = None
    # The user's identity as authentication found it (rule conditions read it); None: not loaded.
    email: str | None = None
    groups: tuple[str, ...] | None = None
    # The organisation's settings generation when authenticated (tenancy/settings_cache.py).
    settings_generation: int | None = None

    def can(self, permission: Permission) -> bool:
        """Whether this caller holds ``permission``."""
        return permission in self.permissions
