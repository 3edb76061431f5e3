"""Typed configuration from the environment (prefix ``RAGAAS_``); see docs/configuration.md."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from ragaas.auth.tokens import JwtKeys


class Settings(BaseSettings):
    """Every setting Ragaas reads."""

    model_config = SettingsConfigDict(env_prefix="RAGAAS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (pgvector >= 0.7). Unset: an embedded PostgreSQL in data_dir.",
    )
    api_database_url: str | None = Field(
        default=None,
        description="URL as the restricted role ragaas_api that API requests run as (row-level "
        "security, docs/security.md). Unset: the embedded server is reached as ragaas_api; a "
        "configured server via SET ROLE from database_url's role.",
    )
    data_dir: Path = Field(
        default=Path(".ragaas"), description="Embedded database, stored files and generated keys."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(default=True, description="Structured JSON log lines on stderr.")

    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 signing key; generated into data_dir when unset."
    )
    jwt_keys: SecretStr | None = Field(
        default=None,
        description="JWT signing keys `kid:secret[,kid:secret...]` (secrets of 32+ characters), "
        "newest first: the newest signs, all verify (rotation). Overrides jwt_secret.",
    )
    access_token_minutes: int = Field(default=15, description="Lifetime of an access token.")
    refresh_token_days: int = Field(default=14, description="Lifetime of a refresh token.")
    public_url: str | None = Field(
        default=None,
        description="The URL users reach the server at, e.g. https://rag.example.com (behind a "
        "proxy): the SSO callback is <public_url>/v1/auth/oidc/callback. Unset: taken from "
        "each request.",
    )

    password_min_length: int = Field(
        default=12, ge=8, le=200, description="Shortest password a user may set."
    )
    login_max_failures_per_account: int = Field(
        default=5, ge=1, description="Failed logins of one e-mail before exponential backoff."
    )
    login_max_failures_per_address: int = Field(
        default=50,
        ge=1,
        description="Failed logins from one client address before backoff (higher: offices "
        "share an address behind NAT).",
    )
    login_backoff_base_seconds: float = Field(
        default=1.0, gt=0, description="First block; it doubles with each further failure."
    )
    login_backoff_max_seconds: float = Field(default=900.0, gt=0, description="Longest block.")
    login_failure_memory_seconds: float = Field(
        default=3600.0, gt=0, description="Failures are forgotten after this long without one."
    )

    embedding_provider: Literal["local", "openai"] = Field(
        default="local",
        description="local: all-MiniLM-L6-v2 in-process; openai: an OpenAI-compatible endpoint.",
    )
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2", description="Model name sent to an OpenAI-compatible endpoint."
    )
    embedding_dimensions: int = Field(
        default=384,
        description="Vector size; fixed when the schema is created (changing it = re-embedding).",
    )
    embedding_batch_size: int = Field(default=32, description="Passages per forward pass.")
    embedding_query_encoder: Literal["int8", "same"] = Field(
        default="int8",
        description=(
            "local provider: int8 embeds search queries with an int8 ONNX copy of the same model "
            "(cosine >= 0.999 to the passages' encoder, several times faster for one query); "
            "same: with the passages' torch encoder."
        ),
    )
    embedding_base_url: str | None = Field(
        default=None, description="e.g. https://api.openai.com/v1 (openai provider)."
    )
    embedding_api_key: SecretStr | None = Field(default=None, description="Embedding API key.")

    llm_provider: Literal["none", "openai", "local"] = Field(
        default="none",
        description="none: extractive answers; openai: any OpenAI-compatible chat API; "
        "local: SmolLM2-135M in-process. Setting llm_base_url alone implies openai.",
    )
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL, e.g. http://localhost:11434/v1."
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Chat model name.")
    llm_api_key: SecretStr | None = Field(default=None, description="Chat API key.")
    llm_timeout_seconds: float = Field(default=120.0, description="Per LLM request.")
    llm_max_tokens: int = Field(default=512, description="Longest generated answer, in tokens.")
    llm_price_per_1k_input: float = Field(default=0.0, description="Cost of 1k prompt tokens.")
    llm_price_per_1k_output: float = Field(default=0.0, description="Cost of 1k answer tokens.")
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description=(
            'Per-model prices of 1k tokens, input and output, as JSON: {"gpt-4o-mini": [0.00015, '
            "0.0006]}; models not listed use the two prices above."
        ),
    )

    def price_per_1k(self, model: str) -> tuple[float, float]:
        """(input, output) price of 1k tokens for ``model``."""
        return self.llm_prices.get(
            model, (self.llm_price_per_1k_input, self.llm_price_per_1k_output)
        )

    chunk_tokens: int = Field(default=256, ge=32, le=2048, description="Largest chunk, in tokens.")
    chunk_overlap: int = Field(
        default=32, ge=0, le=512, description="Tokens repeated between consecutive chunks."
    )
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024, description="Largest accepted document (413 above)."
    )

    search_candidates: int = Field(
        default=50, description="Candidates each retriever contributes before fusion."
    )
    hybrid_fusion: Literal["zscore", "rrf"] = Field(
        default="zscore",
        description="zscore: weighted sum of z-scored dense and BM25 scores; rrf: rank fusion.",
    )
    hybrid_lexical_weight: float = Field(
        default=0.5, ge=0.0, le=1.0, description="BM25's weight in zscore fusion (dense: 1 - it)."
    )
    rrf_k: int = Field(default=60, description="Reciprocal rank fusion constant (rrf fusion).")
    lexical_index_min_chunks: int = Field(
        default=10_000,
        ge=0,
        description="Organisations with at least this many chunks get an in-memory copy of their "
        "BM25 postings in each API process (exact; rebuilt in the background after every index "
        "change, the SQL answering meanwhile). 0: never.",
    )
    lexical_index_max_postings: int = Field(
        default=30_000_000,
        ge=0,
        description="Postings all in-memory BM25 indexes of a process may hold together (~12 bytes "
        "each; 100k chunks ~ 5M postings); the least recently searched are dropped beyond it.",
    )

    rerank_provider: Literal["none", "local", "http"] = Field(
        default="none",
        description="none; local: a cross-encoder directory; http: a Cohere/Jina/TEI rerank API.",
    )
    rerank_model_path: Path | None = Field(
        default=None, description="Local sentence-transformers CrossEncoder directory."
    )
    rerank_url: str | None = Field(
        default=None, description="Rerank endpoint, e.g. http://tei:8080/rerank."
    )
    rerank_model: str = Field(default="rerank", description="Model name sent to the rerank API.")
    rerank_api_key: SecretStr | None = Field(default=None, description="Rerank API key.")
    rerank_depth: int = Field(default=20, ge=1, le=200, description="Fused results reranked.")
    rerank_timeout_seconds: float = Field(
        default=2.0, description="Past this, search keeps the fused order."
    )

    secret_keys: SecretStr | None = Field(
        default=None,
        description=(
            "Keys sealing data-source and webhook secrets, `kid:base64-32-bytes[,kid:...]`, "
            "newest first; generated into data_dir when unset."
        ),
    )
    source_folder_roots: list[Path] = Field(
        default_factory=list,
        description=(
            "Server folders that `file` data sources may read (JSON list). Empty: folder sources "
            "are refused, so a tenant cannot read the server's files."
        ),
    )
    source_query_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Time limit of each statement of a database/servicedesk source's sync; "
        "those run in read-only transactions.",
    )
    egress_allow: list[str] = Field(
        default_factory=list,
        description=(
            "Private, loopback or link-local targets that connectors, webhooks and ingest_url may "
            'reach (JSON list of host names, IPs or CIDRs: ["intranet.example", "10.1.0.0/16"]). '
            "Everything else that is not a public address is refused (SSRF guard)."
        ),
    )
    sync_item_errors_kept: int = Field(
        default=50, description="Per sync run, item errors kept in its history."
    )

    smtp_host: str | None = Field(
        default=None, description="SMTP server for e-mail alerts; unset: e-mail channels refused."
    )
    smtp_port: int = Field(default=587, description="SMTP port (587 starttls, 465 ssl, 25).")
    smtp_username: str | None = Field(default=None, description="SMTP login; unset: no login.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(default="ragaas@localhost", description="From address of alert mail.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="starttls: upgrade a plain connection; ssl: TLS from the start; none: plain.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, description="Per webhook delivery attempt; past it the attempt failed."
    )

    workers_in_process: bool = Field(
        default=True, description="`serve` also runs a job worker (the embedded default)."
    )
    api_processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "`serve` answers requests in this many processes on one port (one per core uses "
            "every core; each loads the model and its in-memory BM25 indexes)."
        ),
    )
    worker_concurrency: int = Field(default=2, description="Jobs a worker runs at once.")
    seed_demo: bool = Field(
        default=True, description="Create the Demo organisation on an empty embedded database."
    )

    blob_store: Literal["local", "s3"] = Field(
        default="local",
        description="Where uploads are kept. local: data_dir/blobs; s3: an S3-compatible bucket.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, SeaweedFS, Ceph); unset: AWS."
    )
    s3_bucket: str | None = Field(default=None, description="Bucket for uploads (blob_store=s3).")
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket, e.g. ragaas/.")
    s3_region: str = Field(default="us-east-1", description="Region of the bucket.")
    s3_access_key_id: str | None = Field(
        default=None, description="With s3_secret_access_key; unset: boto3's default credentials."
    )
    s3_secret_access_key: SecretStr | None = Field(default=None, description="S3 secret key.")

    export_url_ttl_seconds: int = Field(
        default=3600,
        ge=60,
        le=604800,
        description="Lifetime of the download link of an export written to the bucket "
        "(`destination=bucket`; S3 allows at most 7 days).",
    )

    metrics_enabled: bool = Field(
        default=True, description="Serve Prometheus metrics at /metrics (keep it off the internet)."
    )
    worker_metrics_port: int | None = Field(
        default=None, description="`ragaas worker` serves its job metrics on this port (/metrics)."
    )
    otel_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector base URL, e.g. http://otel-collector:4318; set: traces "
        "are exported to <endpoint>/v1/traces.",
    )
    otel_service_name: str = Field(default="ragaas", description="service.name of the traces.")

    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0 for the shared cache, rate limits and login throttling; "
        "unset: in-process query-vector cache and per-replica rate limits.",
    )
    search_cache_ttl_seconds: int = Field(
        default=300, ge=0, description="Lifetime of a cached search result (0: not cached)."
    )
    embedding_cache_ttl_seconds: int = Field(
        default=86400, ge=0, description="Lifetime of a cached query vector in Redis (0: not)."
    )
    rate_limit_per_minute: int = Field(
        default=0,
        ge=0,
        description="Requests per minute per API key or user (0: unlimited); a burst of this "
        "many, then one every 60/N s. Counted in Redis when configured, else per replica.",
    )
    org_rate_limit_per_minute: int = Field(
        default=0,
        ge=0,
        description="Requests per minute per organisation, all its keys and users together "
        "(0: unlimited).",
    )
    quota_max_documents: int = Field(
        default=0,
        ge=0,
        description="Documents per organisation (0: unlimited); an operator "
        "can override it per organisation with `ragaas admin set-quota`.",
    )
    quota_max_storage_bytes: int = Field(
        default=0, ge=0, description="Stored document bytes per organisation (0: unlimited)."
    )
    quota_max_queries_per_day: int = Field(
        default=0,
        ge=0,
        description="Searches and chats per organisation per UTC day "
        "(0: unlimited); past it, 429 until midnight UTC.",
    )
    max_request_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body except document uploads (413 above); uploads and "
        "MCP calls may carry up to max_upload_bytes.",
    )

    cert_dir: Path | None = Field(
        default=None,
        description="Where certificates from the database are written for nginx and the API "
        "(`ragaas certs write`, and after every ACME issue/renewal); unset: data_dir/certs.",
    )
    cert_write_at_start: bool = Field(
        default=False,
        description="`ragaas serve` writes the stored certificates to cert_dir before it starts "
        "(so nginx and the API's own --ssl-* files come from the database).",
    )
    acme_directory_url: str = Field(
        default="https://acme-v02.api.letsencrypt.org/directory",
        description="ACME directory (Let's Encrypt production; staging: "
        "https://acme-staging-v02.api.letsencrypt.org/directory).",
    )
    acme_ca_bundle: Path | None = Field(
        default=None,
        description="PEM bundle trusted for the ACME server's HTTPS instead of the system's "
        "(e.g. a test CA such as pebble's).",
    )
    acme_webroot: Path | None = Field(
        default=None,
        description="http-01 answers are written under DIR/.well-known/acme-challenge/ for "
        "nginx to serve; unset: a built-in server on acme_http_port answers.",
    )
    acme_http_port: int = Field(
        default=80, ge=1, le=65535, description="Port of the built-in http-01 challenge server."
    )
    cert_renew_days: int = Field(
        default=30,
        ge=1,
        description="ACME certificates are renewed when they expire within this many days.",
    )
    cert_auto_renew: bool = Field(
        default=True,
        description="Workers check the stored ACME certificates every hour and renew those due; "
        "off: renew with `ragaas certs renew` from cron or a systemd timer.",
    )
    cert_reload_command: str | None = Field(
        default=None,
        description="Command run after certificates were renewed and written, e.g. "
        "`nginx -s reload` (graceful); unset: none.",
    )

    def effective_llm_provider(self) -> str:
        """The LLM provider; setting only RAGAAS_LLM_BASE_URL means an OpenAI-compatible one."""
        if self.llm_provider == "none" and self.llm_base_url:
            return "openai"
        return self.llm_provider

    def certificate_dir(self) -> Path:
        """Directory where stored certificates are written out as PEM files."""
        return self.cert_dir if self.cert_dir is not None else self.data_dir / "certs"

    def blob_dir(self) -> Path:
        """Directory where raw uploads are kept."""
        return self.data_dir / "blobs"

    def resolved_jwt_keys(self) -> JwtKeys:
        """The JWT key ring: RAGAAS_JWT_KEYS, else the one (configured or generated) secret."""
        from ragaas.auth.tokens import JwtKeys

        if self.jwt_keys is not None:
            return JwtKeys.parse(self.jwt_keys.get_secret_value())
        return JwtKeys.single(self.resolved_jwt_secret())

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


def settings_reference() -> str:
    """docs/configuration.md, generated from this class so it cannot drift."""
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable (or a line in `.env`). Generated from",
        "`ragaas.settings.Settings` by `python -m ragaas.settings > docs/configuration.md`.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default is not None else ""
        lines.append(f"| `RAGAAS_{name.upper()}` | `{default}` | {field.description or ''} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(settings_reference(), end="")
