"""Alembic environment: the URL comes from Ragaas settings (or the caller's config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from ragaas.db import database_url
from ragaas.models import Base
from ragaas.settings import get_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or database_url(get_settings())


def run_migrations() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            # Replicas starting together migrate one at a time; the others then find nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(7265616761617301)"))
            context.run_migrations()


run_migrations()
