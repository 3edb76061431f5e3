"""Typed configuration from the environment (prefix ``RAGAAS_``)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting Ragaas reads; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="RAGAAS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (pgvector >= 0.7). Unset: an embedded PostgreSQL in data_dir.",
    )
    data_dir: Path = Field(default=Path(".ragaas"), description="Embedded database, blobs, keys.")
    log_level: str = "INFO"
    log_json: bool = True

    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 signing key; generated into data_dir when unset."
    )
    access_token_minutes: int = 15
    refresh_token_days: int = 14

    embedding_provider: Literal["local", "openai"] = "local"
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_dimensions: int = 384
    embedding_batch_size: int = 32
    embedding_base_url: str | None = None
    embedding_api_key: SecretStr | None = None

    llm_provider: Literal["none", "openai", "local"] = "none"
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = 120.0
    llm_max_tokens: int = 512
    llm_price_per_1k_input: float = 0.0
    llm_price_per_1k_output: float = 0.0

    chunk_tokens: int = Field(default=256, ge=32, le=2048)
    chunk_overlap: int = Field(default=32, ge=0, le=512)
    max_upload_bytes: int = 50 * 1024 * 1024

    search_candidates: int = 50
    rrf_k: int = 60

    workers_in_process: bool = True
    worker_concurrency: int = 2
    seed_demo: bool = True

    def blob_dir(self) -> Path:
        """Directory where raw uploads are kept."""
        return self.data_dir / "blobs"

    def resolved_jwt_secret(self) -> str:
        """The configured JWT key, or one generated once and kept in data_dir."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
